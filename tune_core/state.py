"""``experiment_state.json``: what a killed experiment needs to go on where it stopped.

``ExperimentState`` is the only code that knows the file's keys: the runner builds one per snapshot,
``run_experiments(resume=True)`` and ``tune-core resume`` load one, ``ExperimentAnalysis`` reads its
trial statuses. One file per experiment directory: every trial (status, config, directory, latest
checkpoint, result count, failures), the search algorithm's and the scheduler's saved state, the
experiment's spec, and where the trainable's module was imported from. It is replaced atomically
(temporary file, fsync, rename), so a crash at any moment leaves the previous complete state or the
new one, never half of one. Readable JSON; values JSON cannot hold exactly (configs, searcher/scheduler
state, the trainable) are base64 cloudpickle.

A state is checked key by key when it is loaded: a damaged file is a ``TuneError`` naming the file and
the key (and trial index), and it is never rewritten. Paths recorded in it are rebased onto the
directory it is loaded from, so a moved or copied experiment resumes where it now is.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tune_core.errors import TuneError
from tune_core.loggers.json import plain_json
from tune_core.resources import Resources
from tune_core.state_check import (
    BLOBS,
    VERSION,
    check_state,
    check_status,
    expect,
    read_state,
    short,
)
from tune_core.trial import Trial

if TYPE_CHECKING:
    from tune_core.experiment import Experiment

__all__ = ["STATE_FILE", "VERSION", "ExperimentState", "import_root", "pack", "progress_in", "set_aside", "unpack"]

STATE_FILE = "experiment_state.json"

_JSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

log = logging.getLogger("tune_core")


def pack(obj: Any, what: str = "") -> str | None:
    """``obj`` as base64 cloudpickle; ``None`` when it cannot be pickled (said once per ``what``)."""
    from tune_core.runtime.shipping import dumps

    try:
        return base64.b64encode(dumps(obj)).decode("ascii")
    except Exception as exc:
        if what and what not in _unpicklable:
            _unpicklable.add(what)
            log.warning("%s cannot be pickled (%s: %s); the experiment state goes on without it, and a "
                        "resume starts it afresh", what, type(exc).__name__, exc)
        return None


_unpicklable: set[str] = set()


def unpack(text: str | None, where: str = "a packed value") -> Any:
    """The object ``pack`` made; a ``TuneError`` naming ``where`` if ``text`` is not one."""
    if text is None:
        return None
    import binascii
    import pickle

    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise TuneError(f"{where} is not base64 text ({short(text)})") from None
    try:
        return pickle.loads(data)
    except (ImportError, AttributeError) as exc:  # The pickle is fine; its code is not importable here.
        raise TuneError(f"{where} cannot be loaded here ({type(exc).__name__}: {exc}); is the module "
                        "that defines it importable (installed, or on PYTHONPATH)?") from None
    except Exception as exc:
        raise TuneError(f"{where} is not a valid pickle ({type(exc).__name__}: {exc})") from None


def import_root(obj: Any) -> str | None:
    """The ``sys.path`` directory ``obj``'s module was imported from (``None`` for ``__main__``,
    built-ins and installed packages), so a resume from another directory can import it again."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    file = getattr(module, "__file__", None)
    if module is None or file is None or module.__name__ == "__main__":
        return None
    root = Path(file).resolve().parent
    for _ in range(module.__name__.count(".") + (Path(file).stem == "__init__")):
        root = root.parent
    if any(part in ("site-packages", "dist-packages") for part in root.parts):
        return None
    return str(root)


def set_aside(directory: str | os.PathLike[str]) -> Path | None:
    """Rename ``<directory>/experiment_state.json`` to ``experiment_state-<time>.json`` (never
    overwriting one) and return the new path; ``None`` if there was none."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = path.with_name(f"experiment_state-{stamp}{f'-{n}' if n else ''}.json")
        if target.exists():
            continue
        try:
            os.link(path, target)  # Fails if ``target`` appeared since: a set-aside never overwrites another.
        except FileExistsError:
            continue
        except OSError:  # A file system without hard links.
            os.rename(path, target)
            return target
        os.unlink(path)
        return target
    raise TuneError(f"cannot set aside {path}: too many experiment_state-{stamp}*.json files")


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
        import_paths: ``sys.path`` directories the trainable's module came from.
        executor: the executor's line about where the trials ran (``Executor.status_line``), if any.
        path: the file it was loaded from (for messages); ``moved_from``: the experiment directory
            the state was written in, when that is not where it was loaded from.
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
    import_paths: list[str] = field(default_factory=list)
    executor: str = ""
    path: str = ""
    moved_from: str | None = None

    # --- building and writing (the runner) -----------------------------------------------------
    @classmethod
    def of_run(cls, experiment: Experiment, trials: Iterable[Trial], preexisting: Iterable[str],
               searcher_state: str | None, scheduler_state: str | None, executor: str = "") -> ExperimentState:
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
            import_paths=list(extra.get("import_paths") or []),
            executor=executor,
        )

    def write(self, directory: str | os.PathLike[str]) -> None:
        """Replace ``<directory>/experiment_state.json`` atomically and durably."""
        path = os.path.join(os.fspath(directory), STATE_FILE)
        payload = {
            "version": VERSION,
            "timestamp": time.time(),
            "experiment": self.experiment,
            "directory": os.path.abspath(directory),
            "preexisting": self.preexisting,
            "trainable_name": self.trainable_name,
            "import_paths": self.import_paths,
            "executor": self.executor,
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
    def load(cls, directory: str | os.PathLike[str], file: str | os.PathLike[str] | None = None
             ) -> ExperimentState | None:
        """The state saved in ``directory`` (or in ``file``, a set-aside state of it); ``None`` if
        there is none. Recorded paths are rebased onto ``directory``.

        Raises:
            TuneError: naming the file and the key, if it cannot be read, is damaged, or was written
                by an incompatible version. The file is left as it is.
        """
        directory = Path(os.path.abspath(directory))
        path = Path(file) if file is not None else directory / STATE_FILE
        raw = read_state(path)
        if raw is None:
            return None
        check_state(raw, path)
        state = cls(
            experiment=str(raw.get("experiment") or directory.name),
            trainable_name=str(raw.get("trainable_name") or ""),
            trials=raw["trials"],
            preexisting=list(raw.get("preexisting") or []),
            timestamp=float(raw.get("timestamp") or 0.0),
            import_paths=list(raw.get("import_paths") or []),
            executor=str(raw.get("executor") or ""),
            path=str(path),
            **{key: raw.get(key) for key in BLOBS},
        )
        old = raw.get("directory") or _directory_of(raw["trials"])
        if old and os.path.normpath(old) != str(directory):
            state.moved_from = os.path.normpath(old)
            state.trials = [_rebase_trial(entry, state.moved_from, str(directory)) for entry in state.trials]
        return state

    def rebase(self, path: str | None) -> str | None:
        """``path`` as it is now, if it was recorded inside the experiment directory before a move."""
        if path is None or self.moved_from is None:
            return path
        return _rebase(path, self.moved_from, os.path.dirname(os.path.abspath(self.path)))

    def restore_trials(self, make_trial: Callable[..., Trial]) -> list[Trial]:
        """The trials as recorded; ``make_trial(config, tag, trial_id, resources)`` supplies the
        experiment's settings."""
        return [self._restore_trial(i, entry, make_trial) for i, entry in enumerate(self.trials)]

    def _restore_trial(self, index: int, entry: dict[str, Any], make_trial: Callable[..., Trial]) -> Trial:
        where = f"experiment state {self.path}: trials[{index}]"
        config = unpack(entry.get("config_pickle"), f"{where}.config_pickle")
        if config is None:
            config = entry["config"]
        try:
            resources = Resources.from_spec(entry.get("resources"), f"trials[{index}].resources")
        except TuneError as exc:
            raise TuneError(f"corrupt experiment state {self.path}: {exc}; it was left as it is") from None
        trial = make_trial(config, entry["experiment_tag"], entry["trial_id"], resources)
        trial.status = entry["status"]
        trial.logdir = Path(entry["logdir"]) if entry.get("logdir") else None
        trial.checkpoint = entry.get("checkpoint")
        trial.checkpoint_iteration = entry.get("checkpoint_iteration") or 0
        trial.kept_checkpoints = [(-math.inf if score is None else score, iteration, path)  # NaN is written null
                                  for score, iteration, path in entry.get("checkpoints") or []]
        trial.num_results = entry.get("num_results") or 0
        trial.num_failures = entry.get("num_failures") or 0
        trial.error_file = entry.get("error_file")
        trial.error_message = entry.get("error_message")
        trial.last_result = entry.get("last_result")
        if entry.get("experiment_id"):
            trial.experiment_id = entry["experiment_id"]
        return trial

    def statuses(self) -> dict[str, str]:
        """Trial id and directory name -> status, for every trial the state records."""
        return _statuses(self.trials)

    @staticmethod
    def statuses_in(directory: str | os.PathLike[str], file: str | os.PathLike[str] | None = None
                    ) -> dict[str, str]:
        """``statuses()`` of the state in ``directory`` (or ``file``), for analysis: records may be
        partial and any version is read, but a damaged file is a ``TuneError``; none gives ``{}``."""
        path = Path(file) if file is not None else Path(directory) / STATE_FILE
        trials = _checked_trials(path)
        return {} if trials is None else _statuses(trials)

    def saved_components(self) -> tuple[dict[str, Any], Any, Any]:
        """``(spec, search_alg, scheduler)`` as the run started, for ``tune-core resume``."""
        spec = self._unpack("spec")
        if spec is not None and not isinstance(spec, dict):
            raise TuneError(f"corrupt experiment state {self.path}: `spec` holds a {type(spec).__name__}, "
                            "not an experiment spec; it was left as it is")
        return dict(spec or {}), self._unpack("search_alg"), self._unpack("scheduler_obj")

    def saved_searcher_state(self) -> Any:
        return self._unpack("searcher_state")

    def saved_scheduler_state(self) -> Any:
        return self._unpack("scheduler_state")

    def _unpack(self, key: str) -> Any:
        return unpack(getattr(self, key), f"experiment state {self.path}: `{key}`")


def _statuses(trials: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in trials:
        if isinstance(entry, dict) and isinstance(entry.get("status"), str):
            for key in ("trial_id", "logdir"):
                if entry.get(key):
                    out[os.path.basename(str(entry[key]).rstrip("/"))] = entry["status"]
    return out


def record(trial: Trial) -> dict[str, Any]:
    """One trial, as the state file keeps it (a finished trial's once: it no longer changes)."""
    final = trial.record_final
    if final is not None:
        return final
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
    entry = {
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
    if trial.status in ("TERMINATED", "ERROR"):
        trial.record_final = entry
    return entry


def progress_in(directory: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(finished, total)`` trials of the state in ``directory``; ``None`` if there is none.

    Raises:
        TuneError: if the file is damaged (see ``ExperimentState.statuses_in``).
    """
    trials = _checked_trials(Path(directory) / STATE_FILE)
    if trials is None:
        return None
    return sum(entry.get("status") in ("TERMINATED", "ERROR") for entry in trials), len(trials)


def executor_in(directory: str | os.PathLike[str]) -> str:
    """The executor's line saved with the latest run in ``directory`` (where its trials ran), or ``""``."""
    try:
        raw = read_state(Path(directory) / STATE_FILE)
    except TuneError:
        return ""  # ``ls`` reports a damaged state on its own; this line is extra.
    line = raw.get("executor") if raw else None
    return line if isinstance(line, str) else ""


def _checked_trials(path: Path) -> list[dict[str, Any]] | None:
    """The trial records of the state at ``path``, each an object with a known status if it has one;
    ``None`` if there is no file. What ``statuses_in`` and ``progress_in`` read (once)."""
    raw = read_state(path)
    if raw is None:
        return None
    trials = raw.get("trials", [])
    expect(isinstance(trials, list), path, "`trials` must be a list of trial records", trials)
    for i, entry in enumerate(trials):
        expect(isinstance(entry, dict), path, f"trials[{i}] must be an object", entry)
        if "status" in entry:
            check_status(path, i, entry["status"])
    return trials


def _directory_of(trials: list[dict[str, Any]]) -> str | None:
    """The experiment directory an older state (without ``directory``) was written in."""
    for entry in trials:
        if entry.get("logdir"):
            return os.path.dirname(os.path.normpath(entry["logdir"]))
    return None


def _rebase(path: str, old: str, new: str) -> str:
    relative = os.path.relpath(os.path.normpath(path), old)
    if relative == os.curdir or relative.startswith(os.pardir + os.sep) or relative == os.pardir:
        return path  # Not inside the old experiment directory: not the experiment's to move.
    return os.path.join(new, relative)


def _rebase_trial(entry: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy of a trial record whose paths point into ``new`` where they pointed into ``old``."""
    entry = dict(entry)
    for key in ("logdir", "checkpoint", "error_file"):
        if entry.get(key):
            entry[key] = _rebase(entry[key], old, new)
    entry["checkpoints"] = [[s, it, _rebase(p, old, new)] for s, it, p in entry.get("checkpoints") or []]
    return entry
