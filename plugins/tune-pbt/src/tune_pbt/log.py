"""The perturbation log: one JSON object per line in ``<experiment dir>/pbt_perturbations.jsonl``.

Append-only: each record is one ``os.write`` on a file opened with ``O_APPEND``, so a record is
never interleaved with another and a killed driver leaves at most a torn last line (which
``read_log`` skips). Two kinds of record:

``{"event": "start", "time", "trial_id", "trial_name", "config"}``
    the config a trial started with, written at its first perturbation point;
``{"event": "exploit", "time", "trial_id", "trial_name", "from_trial_id", "from_trial_name",
"time_attr", "t", "from_t", "from_iteration", "old_config", "new_config"}``
    ``trial_id`` (at ``time_attr`` = ``t``) continues from ``from_trial_id``'s checkpoint of
    iteration ``from_iteration`` (``time_attr`` = ``from_t`` there), with ``new_config``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["LOG_NAME", "append_record", "log_path", "read_log", "started_trials"]

LOG_NAME = "pbt_perturbations.jsonl"


def log_path(where: str | os.PathLike[str]) -> Path:
    """The log file: ``where`` itself, or the log inside the experiment directory ``where``."""
    path = Path(where)
    return path / LOG_NAME if path.is_dir() else path


def append_record(experiment_dir: str, record: dict[str, Any]) -> None:
    """Append ``record`` as one line (values JSON cannot hold are written as their ``repr``)."""
    line = (json.dumps(record, sort_keys=True, default=repr) + "\n").encode()
    fd = os.open(os.path.join(experiment_dir, LOG_NAME), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_log(where: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of the log at ``where`` (a file or an experiment directory), in order."""
    path = log_path(where)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:  # A torn last line of a killed driver.
                continue
            if isinstance(record, dict):
                yield record


def started_trials(experiment_dir: str) -> set[str]:
    """The ids of the trials whose start record the experiment's log holds (none without a log)."""
    try:
        return {str(r.get("trial_id")) for r in read_log(experiment_dir) if r.get("event") == "start"}
    except FileNotFoundError:
        return set()
