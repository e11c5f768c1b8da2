"""``PlateauStopper``: a trial that has not improved its metric for ``patience`` results is stopped.

A trial's result improves on its best so far when it is better by more than ``min_delta`` (higher
with ``mode="max"``, lower with ``"min"``). Results before ``grace_period`` (in ``time_attr``) only
set the best. The rule looks at one trial at a time, so it decides on every result as it streams
in: no decision point, no round trip.
"""

from __future__ import annotations

from typing import Any

from tune_core import options
from tune_core.interfaces import (
    CONTINUE,
    PAUSED,
    PENDING,
    STOP,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)

__all__ = ["PlateauStopper"]


class PlateauStopper(TrialScheduler):
    """Stop a trial after ``patience`` results in a row without an improvement above ``min_delta``."""

    def __init__(self, metric: str | None = None, mode: str | None = None, *, patience: int = 3,
                 min_delta: float = 0.0, grace_period: float = 0, time_attr: str = "training_iteration") -> None:
        owner = "scheduler 'plateau'"
        self.metric = options.text(owner, "metric", metric, optional=True)
        self.mode = options.choice(owner, "mode", mode, (None, "min", "max"))
        self.patience = options.integer(owner, "patience", patience, minimum=1)
        self.min_delta = options.number(owner, "min_delta", min_delta, minimum=0)
        self.grace_period = options.number(owner, "grace_period", grace_period, minimum=0)
        self.time_attr = options.text(owner, "time_attr", time_attr)
        #: trial_id -> [best score so far (higher is better), results since it]
        self._progress: dict[str, list[Any]] = {}
        self._stopped = 0

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        value = result.get(self.metric) if self.metric else None
        if not isinstance(value, (int, float)) or value != value:  # Not reported, or NaN: nothing to judge.
            return CONTINUE
        score = value if self.mode != "min" else -value
        progress = self._progress.get(trial.trial_id)
        if progress is None or score > progress[0] + self.min_delta:
            self._progress[trial.trial_id] = [score, 0]
            return CONTINUE
        if result.get(self.time_attr, 0) < self.grace_period:
            return CONTINUE
        progress[1] += 1
        if progress[1] < self.patience:
            return CONTINUE
        self._stopped += 1
        return STOP

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        for trial in runner.trials_with_status(PENDING, PAUSED):
            if runner.has_resources(trial.resources):
                return trial
        return None

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView, result: Any) -> None:
        self._progress.pop(trial.trial_id, None)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._progress.pop(trial.trial_id, None)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._progress.pop(trial.trial_id, None)

    def debug_string(self) -> str:
        return f"PlateauStopper: {self._stopped} trials stopped after {self.patience} results without improvement."

    def save(self) -> Any:
        return {"progress": {k: list(v) for k, v in self._progress.items()}, "stopped": self._stopped}

    def restore(self, state: Any) -> None:
        self._progress = {k: list(v) for k, v in state["progress"].items()}
        self._stopped = state["stopped"]
