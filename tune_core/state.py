"""``experiment_state.json``: what a killed experiment needs to go on where it stopped.

``ExperimentState`` is the only code that knows the file's keys: the runner builds one per snapshot,
``run_experiments(resume=True)`` and ``tune-core resume`` load one, ``ExperimentAnalysis`` reads its
trial statuses. One file per experiment directory: every trial (status, config, directory, latest
checkpoint, result count, failures), the search algorithm's and the scheduler's saved state, and the
experiment's spec. It is replaced atomically (temporary file, fsync, rename), so a crash at any moment
leaves the previous complete state or the new one, never half of one. Readable JSON; values JSON
cannot hold exactly (configs, searcher/scheduler state, the trainable) are base64 cloudpickle.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tune_core.errors import TuneError
from tune_core.loggers.json import plain_json
from tune_core.resources import Resources
from tune_core.trial import Trial

if TYPE_CHECKING:
    from tune_core.experiment import Experiment

__all__ = ["STATE_FILE", "VERSION", "ExperimentState", "pack", "unpack"]

STATE_FILE = "experiment_state.json"
VERSION = 1

_JSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

log = logging.getLogger("tune_core")


def pack(obj: Any, what: str = "") -> str | None:
    """``obj`` as base64 cloudpickle; ``None`` when it cannot be pickled (said once per ``what``)."""
    import cloudpickle

    try:
        return base64.b64encode(cloudpickle.dumps(obj)).decode("ascii")
    except Exception as exc:
        if what and what not in _unpicklable:
            _unpicklable.add(what)
            log.warning("%s cannot be pickled (%s: %s); the experiment state goes on without it, and a "
                        "resume starts it afresh", what, type(exc).__name__, exc)
        return None


_unpicklable: set[str] = set()


def unpack(text: str | None) -> Any:
    if text is None:
        return None
    import pickle

    return pickle.loads(base64.b64decode(text))


@dataclass
class ExperimentState:
    """One experiment's state file, as the runner writes it and a resume reads it.

    Attributes:
        experiment: the experiment's name.
        trainable_name: the registered name of its trainable.
        trials: one record per trial (see ``record``).
        preexisting: directory names that were there before the experiment first ran.
        spec, search_alg, scheduler_obj: packed (``pack``) experiment spec and the components as
            they were before the run, for ``tune-core resume``.
        searcher_state, scheduler_state: packed ``save()`` of the search algorithm and scheduler.
    """

    experiment: str
    trainable_name: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    preexisting: list[str] = field(default_factory=list)
    spec: str | None = None
    search_alg: str | None = None
    scheduler_obj: str | None = None
    searcher_state: str | None = None
    scheduler_state: str | None = None
    timestamp: float = 0.0

    # --- building and writing (the runner) -----------------------------------------------------
    @classmethod
    def of_run(cls, experiment: Experiment, trials: Iterable[Trial], preexisting: Iterable[str],
               searcher_state: str | None, scheduler_state: str | None) -> ExperimentState:
        """A snapshot of a running experiment (cheap: serialised later, off the runner's thread)."""
        extra = experiment.extra_state
        return cls(
            experiment=experiment.name,
            trainable_name=experiment.trainable_name,
            trials=[record(trial) for trial in trials],
            preexisting=sorted(preexisting),
            spec=extra.get("spec_pickle"),
            search_alg=extra.get("search_alg_pickle"),
            scheduler_obj=extra.get("scheduler_pickle"),
            searcher_state=searcher_state,
            scheduler_state=scheduler_state,
        )

    def write(self, directory: str | os.PathLike[str]) -> None:
        """Replace ``<directory>/experiment_state.json`` atomically and durably."""
        path = os.path.join(os.fspath(directory), STATE_FILE)
        payload = {
            "version": VERSION,
            "timestamp": time.time(),
            "experiment": self.experiment,
            "preexisting": self.preexisting,
            "trainable_name": self.trainable_name,
            "spec": self.spec,
            "search_alg": self.search_alg,
            "scheduler_obj": self.scheduler_obj,
            "searcher_state": self.searcher_state,
            "scheduler_state": self.scheduler_state,
            "trials": self.trials,
        }
        data = orjson.dumps(payload, default=str, option=_JSON)
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

    # --- reading (resume, analysis) ------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ExperimentState | None:
        """The state saved in ``directory``; ``None`` if there is none.

        Raises:
            TuneError: naming the file, if it cannot be read, is not an experiment state, or was
                written by an incompatible version. The file is left as it is.
        """
        path = Path(directory) / STATE_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TuneError(f"cannot read experiment state {path}: {exc.strerror or exc}") from exc
        try:
            raw = orjson.loads(data)
            if not isinstance(raw, dict) or not isinstance(raw.get("trials"), list):
                raise ValueError("not an experiment state")
        except ValueError as exc:
            raise TuneError(f"corrupt experiment state {path}: {exc}; it was left as it is") from None
        if raw.get("version") != VERSION:
            raise TuneError(
                f"experiment state {path} was written by an incompatible version of tune-core "
                f"(state version {raw.get('version')!r}, this one reads {VERSION})"
            )
        return cls(
            experiment=str(raw.get("experiment") or Path(directory).name),
            trainable_name=str(raw.get("trainable_name") or ""),
            trials=raw["trials"],
            preexisting=list(raw.get("preexisting") or []),
            spec=raw.get("spec"),
            search_alg=raw.get("search_alg"),
            scheduler_obj=raw.get("scheduler_obj"),
            searcher_state=raw.get("searcher_state"),
            scheduler_state=raw.get("scheduler_state"),
            timestamp=float(raw.get("timestamp") or 0.0),
        )

    def restore_trials(self, make_trial: Callable[..., Trial]) -> list[Trial]:
        """The trials as recorded; ``make_trial(config, tag, trial_id, resources)`` supplies the
        experiment's settings."""
        return [_restore_trial(entry, make_trial) for entry in self.trials]

    def statuses(self) -> dict[str, str]:
        """Trial id and directory name -> status, for every trial the state records."""
        return _statuses(self.trials)

    @staticmethod
    def statuses_in(directory: str | os.PathLike[str]) -> dict[str, str]:
        """``statuses()`` of the state in ``directory``, read leniently (for analysis): an absent,
        unreadable or other-version file gives what it can, never an error."""
        try:
            raw = orjson.loads((Path(directory) / STATE_FILE).read_bytes())
        except (OSError, ValueError):
            return {}
        trials = raw.get("trials") if isinstance(raw, dict) else None
        return _statuses(trials if isinstance(trials, list) else [])

    def saved_components(self) -> tuple[dict[str, Any], Any, Any]:
        """``(spec, search_alg, scheduler)`` as the run started, for ``tune-core resume``."""
        return dict(unpack(self.spec) or {}), unpack(self.search_alg), unpack(self.scheduler_obj)

    def saved_searcher_state(self) -> Any:
        return unpack(self.searcher_state)

    def saved_scheduler_state(self) -> Any:
        return unpack(self.scheduler_state)


def _statuses(trials: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in trials:
        if isinstance(entry, dict) and isinstance(entry.get("status"), str):
            for key in ("trial_id", "logdir"):
                if entry.get(key):
                    out[os.path.basename(str(entry[key]).rstrip("/"))] = entry["status"]
    return out


def record(trial: Trial) -> dict[str, Any]:
    """One trial, as the state file keeps it."""
    static = trial.record_static
    if static is None:  # What never changes, built once per trial (and again after a new config).
        static = trial.record_static = {
            "trial_id": trial.trial_id,
            "trainable_name": trial.trainable_name,
            "experiment_tag": trial.experiment_tag,
            "experiment_id": trial.experiment_id,
            "config": trial.config,  # serialised when the state is written, off the runner's thread
            "config_pickle": None if plain_json(trial.config) else pack(trial.config),
            "resources": trial.resources.to_dict(),
        }
    return {
        **static,
        "status": trial.status,
        "logdir": str(trial.logdir) if trial.logdir else None,
        "checkpoint": trial.checkpoint,
        "checkpoint_iteration": trial.checkpoint_iteration,
        "checkpoints": trial.kept_checkpoints,
        "num_results": trial.num_results,
        "num_failures": trial.num_failures,
        "error_file": trial.error_file,
        "error_message": trial.error_message,
        "last_result": trial.last_result,
    }


def _restore_trial(entry: dict[str, Any], make_trial: Callable[..., Trial]) -> Trial:
    config = unpack(entry.get("config_pickle"))
    if config is None:
        config = entry["config"]
    trial = make_trial(config, entry["experiment_tag"], entry["trial_id"],
                       Resources.from_spec(entry.get("resources")))
    trial.status = entry["status"]
    trial.logdir = Path(entry["logdir"]) if entry.get("logdir") else None
    trial.checkpoint = entry.get("checkpoint")
    trial.checkpoint_iteration = entry.get("checkpoint_iteration", 0)
    trial.kept_checkpoints = [tuple(item) for item in entry.get("checkpoints", [])]
    trial.num_results = entry.get("num_results", 0)
    trial.num_failures = entry.get("num_failures", 0)
    trial.error_file = entry.get("error_file")
    trial.error_message = entry.get("error_message")
    trial.last_result = entry.get("last_result")
    if entry.get("experiment_id"):
        trial.experiment_id = entry["experiment_id"]
    return trial
