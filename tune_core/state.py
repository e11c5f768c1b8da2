"""``experiment_state.json``: what a killed experiment needs to go on where it stopped.

One file per experiment directory: every trial (status, config, directory, latest checkpoint,
result count, failures), the search algorithm's and the scheduler's saved state, and the experiment's
spec. It is replaced atomically (temporary file, fsync, rename), so a crash at any moment leaves the
previous complete state or the new one, never half of one. Readable JSON; values JSON cannot hold
exactly (configs, searcher/scheduler state, the trainable) are kept as base64 cloudpickle beside it.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import orjson

from tune_core.errors import TuneError
from tune_core.loggers.json import plain_json
from tune_core.resources import Resources
from tune_core.trial import Trial

__all__ = ["STATE_FILE", "VERSION", "load_state", "pack", "restore_trial", "trial_record", "unpack", "write_state"]

STATE_FILE = "experiment_state.json"
VERSION = 1

_JSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def pack(obj: Any) -> str | None:
    """``obj`` as base64 cloudpickle; ``None`` when it cannot be pickled."""
    import cloudpickle

    try:
        return base64.b64encode(cloudpickle.dumps(obj)).decode("ascii")
    except Exception:
        return None


def unpack(text: str | None) -> Any:
    if text is None:
        return None
    import pickle

    return pickle.loads(base64.b64decode(text))


def trial_record(trial: Trial) -> dict[str, Any]:
    """One trial, as the state file keeps it."""
    record = trial.extra.get("_record_static")
    if record is None:  # What never changes, built once per trial.
        record = {
            "trial_id": trial.trial_id,
            "trainable_name": trial.trainable_name,
            "experiment_tag": trial.experiment_tag,
            "experiment_id": trial.experiment_id,
            "config": trial.config,  # serialised when the state is written, off the runner's thread
            "config_pickle": None if plain_json(trial.config) else pack(trial.config),
            "resources": trial.resources.to_dict(),
        }
        trial.extra["_record_static"] = record
    return {
        **record,
        "status": trial.status,
        "logdir": str(trial.logdir) if trial.logdir else None,
        "checkpoint": trial.checkpoint,
        "checkpoint_iteration": trial.checkpoint_iteration,
        "checkpoints": trial.extra.get("checkpoints", []),
        "num_results": trial.num_results,
        "num_failures": trial.num_failures,
        "error_file": trial.error_file,
        "error_message": trial.error_message,
        "last_result": trial.last_result,
    }


def restore_trial(record: dict[str, Any], make_trial: Any) -> Trial:
    """A ``Trial`` from its record; ``make_trial(config, tag, trial_id)`` supplies the experiment's settings."""
    config = unpack(record.get("config_pickle"))
    if config is None:
        config = record["config"]
    trial: Trial = make_trial(config, record["experiment_tag"], record["trial_id"])
    trial.status = record["status"]
    trial.logdir = Path(record["logdir"]) if record.get("logdir") else None
    trial.checkpoint = record.get("checkpoint")
    trial.checkpoint_iteration = record.get("checkpoint_iteration", 0)
    trial.extra["checkpoints"] = [tuple(entry) for entry in record.get("checkpoints", [])]
    trial.num_results = record.get("num_results", 0)
    trial.num_failures = record.get("num_failures", 0)
    trial.error_file = record.get("error_file")
    trial.error_message = record.get("error_message")
    trial.last_result = record.get("last_result")
    trial.resources = Resources.from_spec(record.get("resources"))
    if record.get("experiment_id"):
        trial.experiment_id = record["experiment_id"]
    return trial


def write_state(directory: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Replace ``<directory>/experiment_state.json`` atomically and durably."""
    path = os.path.join(os.fspath(directory), STATE_FILE)
    data = orjson.dumps({"version": VERSION, "timestamp": time.time(), **payload}, default=str, option=_JSON)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_state(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The state saved in ``directory``; ``None`` if there is none. ``TuneError`` naming the file if
    it cannot be read, or was written by an incompatible version."""
    path = Path(directory) / STATE_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TuneError(f"cannot read experiment state {path}: {exc.strerror or exc}") from exc
    try:
        state = orjson.loads(data)
        if not isinstance(state, dict) or not isinstance(state.get("trials"), list):
            raise ValueError("not an experiment state")
    except ValueError as exc:
        raise TuneError(f"corrupt experiment state {path}: {exc}; it was left as it is") from None
    if state.get("version") != VERSION:
        raise TuneError(
            f"experiment state {path} was written by an incompatible version of tune-core "
            f"(state version {state.get('version')!r}, this one reads {VERSION})"
        )
    return state
