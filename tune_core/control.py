"""A running experiment, seen and changed from other threads: what a Client API server, a dashboard or
a notebook holds.

The runner owns its trials and is not thread-safe, so every read and change goes through its command
queue (``tune_core.commands``) and is applied between two steps of its loop, in order: a listing is a
consistent snapshot, and a stop or an add never races a result. Once the run has ended, reads come from
the trials directly (nothing changes them any more) and changes are refused.

Everything returned is plain JSON data (``trial_summary``): strings, numbers, lists, dicts, ``None``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from tune_core.commands import AddExperiment, ListTrials, StopTrial
from tune_core.errors import TuneError

if TYPE_CHECKING:
    from tune_core.runner import TrialRunner
    from tune_core.trial import Trial

__all__ = ["ExperimentControl", "trial_summary"]


def json_safe(value: Any) -> Any:
    """``value`` as JSON data: containers walked, NaN and infinities as ``None``, anything else that
    JSON has no type for as its ``repr``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return repr(value)


def trial_summary(trial: Trial) -> dict[str, Any]:
    """One trial as others see it: id, name, experiment, status, config, last result, where it runs,
    its directory, failures and error, resources, latest checkpoint's iteration."""
    return {
        "trial_id": trial.trial_id,
        "name": trial.name,
        "experiment": trial.experiment_name,
        "status": trial.status,
        "config": json_safe(trial.config),
        "last_result": json_safe(trial.last_result or {}),
        "location": trial.location,
        "logdir": str(trial.logdir) if trial.logdir else None,
        "num_failures": trial.num_failures,
        "error": trial.error_message,
        "resources": trial.resources.to_dict(),
        "checkpoint_iteration": trial.checkpoint_iteration if trial.checkpoint else None,
    }


class ExperimentControl:
    """Thread-safe access to one running ``run_experiments`` call.

    Args:
        runner: the run's ``TrialRunner``.
        experiment_dirs: the run's experiment directories (where state and trial directories live).
        timeout_s: how long a call waits for the runner to reach its next step.
    """

    def __init__(self, runner: TrialRunner, experiment_dirs: Sequence[str], timeout_s: float = 10.0) -> None:
        self._runner = runner
        self.experiment_dirs = [str(d) for d in experiment_dirs]
        self._timeout_s = timeout_s
        self._ended = threading.Event()

    # --- the run's side ---------------------------------------------------------------------------
    def end(self) -> None:
        """Called by the run once its loop is over: reads go to the trials directly from now on, and
        what is still queued is answered (a listing) or refused (a change)."""
        self._ended.set()
        self._runner.refuse_commands()

    @property
    def finished(self) -> bool:
        return self._ended.is_set()

    # --- reading ----------------------------------------------------------------------------------
    def trials(self) -> list[dict[str, Any]]:
        """Every trial of the run (``trial_summary``), in the order they were added."""
        if self.finished:
            runner = self._runner
            return [trial_summary(trial) for view in runner.get_trials()
                    if (trial := runner.trial_by_id(view.trial_id)) is not None]
        listed: list[dict[str, Any]] = self._wait(self._runner.request(ListTrials()))
        return listed

    def trial(self, trial_id: str) -> dict[str, Any]:
        """One trial's ``trial_summary``; a ``TuneError`` naming the id when there is no such trial."""
        for summary in self.trials():
            if summary["trial_id"] == trial_id:
                return summary
        raise TuneError(f"no trial with id {trial_id!r} in this experiment")

    def status(self) -> dict[str, Any]:
        """``{"finished": bool, "experiment_dirs": [...], "trials": n, "by_status": {status: n}}``."""
        trials = self.trials()
        by_status: dict[str, int] = {}
        for summary in trials:
            by_status[summary["status"]] = by_status.get(summary["status"], 0) + 1
        return {"finished": self.finished, "experiment_dirs": self.experiment_dirs, "trials": len(trials),
                "by_status": by_status}

    # --- changing ---------------------------------------------------------------------------------
    def add_trials(self, name: str, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Add the trials of an experiment spec under ``name`` (as ``run_experiments({name: spec})``
        would make them; ``local_dir`` defaults to the run's) and return their summaries."""
        self._refuse_when_finished("add trials")
        added: list[Trial] = self._wait(self._runner.request(AddExperiment(name, spec)))
        return [trial_summary(trial) for trial in added]

    def stop_trial(self, trial_id: str) -> dict[str, Any]:
        """Stop a trial (a finished one stays as it ended) and return its summary."""
        self._refuse_when_finished("stop a trial")
        trial: Trial = self._wait(self._runner.request(StopTrial(trial_id)))
        return trial_summary(trial)

    def _refuse_when_finished(self, what: str) -> None:
        if self.finished:
            raise TuneError(f"cannot {what}: the experiment has finished")

    def _wait(self, future: Future[Any]) -> Any:
        try:
            return future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()
            if self.finished:
                raise TuneError("the experiment finished before the request was applied") from None
            raise TuneError(f"the experiment did not answer within {self._timeout_s:g} s (its loop is busy)") from None
