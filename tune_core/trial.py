"""A trial: one configuration of one trainable, and the small summary the driver keeps of it.

The driver never keeps a trial's full result history in memory: ``last_result`` plus the per-metric
summary in ``metric_analysis`` is all, so thousands of finished trials cost a few KB each.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tune_core.checkpoints import Checkpoint
from tune_core.interfaces import ERROR, PAUSED, PENDING, RUNNING, STATUSES, TERMINATED, TrialView
from tune_core.resources import Resources

__all__ = [
    "ERROR",
    "PAUSED",
    "PENDING",
    "RUNNING",
    "STATUSES",
    "TERMINATED",
    "Trial",
    "new_trial_id",
    "trial_dirname",
]

Stopper = Mapping[str, float] | Callable[[str, dict[str, Any]], bool]


_ids = random.Random()  # Seeded from os.urandom once; an urandom call per trial is slow on some VMs.
_issued: set[str] = set()


#: Auto-filled fields that are not metrics: no min/max is kept for them.
_NOT_METRICS = frozenset(("pid", "timestamp", "training_iteration", "time_this_iter_s", "time_total_s", "done"))
#: String values that are the same across a worker's results: kept once.
_SHARED_VALUES = frozenset(("hostname", "node_ip", "experiment_id", "trial_id"))


def new_trial_id() -> str:
    """8 random hex characters, as in the seed, never repeated within this process.

    Stable for the trial's whole life (and across resume, where it is read back from the state).
    """
    while True:
        trial_id = f"{_ids.getrandbits(32):08x}"
        if trial_id not in _issued:
            _issued.add(trial_id)
            return trial_id


@dataclass(eq=False, slots=True)
class Trial:
    """One trial of an experiment.

    Attributes:
        trainable_name: the registered name of the trainable to run.
        config: the fully resolved config handed to the trainable.
        experiment_tag: ``<index>_<key>=<value>,...``, from the variant generator.
        experiment_name: name of the experiment this trial belongs to.
        experiment_dir: ``<local_dir>/<experiment_name>``.
        logdir: the trial's own directory; set when the trial is first started.
    """

    trainable_name: str
    config: dict[str, Any] = field(default_factory=dict)
    experiment_tag: str = ""
    experiment_name: str = "default"
    experiment_id: str = ""
    experiment_dir: Path = field(default_factory=lambda: Path.cwd())
    resources: Resources = field(default_factory=Resources)
    stopping_criterion: Stopper = field(default_factory=dict)
    checkpoint_freq: int = 0
    checkpoint_at_end: bool = False
    keep_checkpoints_num: int | None = None
    checkpoint_score_attr: str = "training_iteration"
    max_failures: int = 0
    restore_path: str | None = None
    #: the trainable object of its experiment (``None``: look ``trainable_name`` up in the registry).
    trainable: Any = None
    trial_id: str = field(default_factory=new_trial_id)
    status: str = PENDING
    logdir: Path | None = None
    last_result: dict[str, Any] | None = None
    num_results: int = 0
    num_failures: int = 0
    error_file: str | None = None
    error_message: str | None = None
    location: str = ""
    #: latest complete checkpoint and the iteration it was taken at.
    checkpoint: str | None = None
    checkpoint_iteration: int = 0
    #: ``[min, max]`` of each numeric metric the trainable reported (a list: thousands of finished
    #: trials keep one each), for analysis without re-reading files.
    metric_analysis: dict[str, list[float]] = field(default_factory=dict)
    # --- the runner's own bookkeeping (plugins see ``view``, which has none of it) ---
    #: the checkpoints kept for ``keep_checkpoints_num``: ``(rank, iteration, path)``.
    kept_checkpoints: list[tuple[float, int, str]] = field(default_factory=list)
    #: asked to pause; its ``TrialPaused`` has not come yet.
    pausing: bool = False
    #: its directory holds output of an attempt the experiment state never recorded: cut it back.
    adopted_logdir: bool = False
    #: counts the trial's runs; results of an earlier run that arrive late are ignored.
    run_count: int = 0
    #: the location still comes from the first result of this run.
    locating: bool = False
    #: the parts of the state-file record that never change, built once.
    record_static: dict[str, Any] | None = None
    #: the whole record of a finished trial, which no longer changes: every state snapshot of a
    #: long experiment lists thousands of them.
    record_final: dict[str, Any] | None = field(default=None, repr=False)
    #: the read-only view plugins get: one per trial, for its whole life.
    view: TrialView = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.view = TrialView(self)

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.record_final = None
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.view = TrialView(self)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest complete checkpoint, in the driver's storage."""
        if self.checkpoint is None:
            return None
        return Checkpoint(self.checkpoint_iteration, path=self.checkpoint)

    @property
    def name(self) -> str:
        """``<trainable>_<experiment_tag>``, the seed's trial name; a trainable given as
        ``package.module:function`` is named by its function alone."""
        trainable = self.trainable_name.rpartition(":")[2]
        return f"{trainable}_{self.experiment_tag}" if self.experiment_tag else trainable

    def __repr__(self) -> str:
        return f"Trial({self.name!r}, id={self.trial_id}, status={self.status})"

    def is_finished(self) -> bool:
        return self.status in (TERMINATED, ERROR)

    def update_last_result(self, result: dict[str, Any]) -> None:
        """Record ``result`` as the latest and fold its own metrics into ``metric_analysis``."""
        self.last_result = result
        self.num_results += 1
        analysis = self.metric_analysis
        for key, value in result.items():
            if type(value) in (int, float) and key not in _NOT_METRICS:
                entry = analysis.get(key)
                if entry is None:
                    analysis[key] = [value, value]
                elif value < entry[0]:
                    entry[0] = value
                elif value > entry[1]:
                    entry[1] = value

    def compact(self) -> None:
        """Shrink what a finished trial keeps: one shared copy of each result key and constant value.

        Results arrive unpickled, each with its own copies of every key string; thousands of
        finished trials would hold thousands of copies of ``"training_iteration"``.
        """
        if self.last_result is not None:
            self.last_result = {
                sys.intern(k): (sys.intern(v) if type(v) is str and k in _SHARED_VALUES else v)
                for k, v in self.last_result.items()
            }

#: What a pickled trial holds: every field but its view, which is made again, and a cached record.
_FIELDS = tuple(f.name for f in fields(Trial) if f.name not in ("view", "record_final"))


def trial_dirname(trial: Trial, max_len: int | None = None) -> str:
    """A file-system-safe directory name for ``trial``: its name, bounded in length.

    Names longer than ``max_len`` (``TUNE_MAX_LEN_IDENTIFIER``, default 130) are cut and get the
    trial id appended, so they stay unique and never hit the file system's name limit.
    """
    import os
    import re

    limit = max_len or int(os.environ.get("TUNE_MAX_LEN_IDENTIFIER", "130"))
    name = re.sub(r"[/\\:\x00]", "_", trial.name)
    if len(name.encode()) > limit:
        cut = name.encode()[: max(1, limit - len(trial.trial_id) - 1)].decode(errors="ignore")
        name = f"{cut}_{trial.trial_id}"
    return name
