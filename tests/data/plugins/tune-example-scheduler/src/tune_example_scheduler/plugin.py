"""The plugin module named by the ``tune_core`` entry point: the scheduler and its registration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tune_core.interfaces import TrialScheduler
from tune_core.plugins import SchedulerSpec, hookimpl


class ThresholdScheduler(TrialScheduler):
    """Stop a trial whose metric is on the wrong side of ``threshold`` after ``grace_period`` results."""

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        threshold: float = 0.0,
        grace_period: int = 1,
    ) -> None:
        self.metric = metric
        self.mode = mode
        self.threshold = threshold
        self.grace_period = grace_period
        self.stopped = 0

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        value = result.get(self.metric or "")
        if value is None or result.get("training_iteration", 0) < self.grace_period:
            return self.CONTINUE
        bad = value < self.threshold if self.mode != "min" else value > self.threshold
        if bad:
            self.stopped += 1
            return self.STOP
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        for trial in runner.get_trials():
            if trial.status in ("PENDING", "PAUSED") and runner.has_resources(trial.resources):
                return trial
        return None

    def debug_string(self) -> str:
        return f"ThresholdScheduler: {self.stopped} trials stopped below {self.threshold}."


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="example",
        factory=ThresholdScheduler,
        description="stop trials below a fixed threshold",
    )
