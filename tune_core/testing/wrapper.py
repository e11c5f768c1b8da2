"""``SchedulerWrapper``: a scheduler standing in for another, so the test kit can watch every call.

The runner sees the wrapper; the wrapper hands each call to the wrapped scheduler through ``_call``,
which subclasses override (to time it, to check what comes back). ``metric``/``mode`` are the
wrapped scheduler's own, and a wrapper pickles as the scheduler it wraps (the experiment state
keeps the scheduler, not the test kit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tune_core.interfaces import DecisionPoint, TrialRunnerView, TrialScheduler, TrialView

__all__ = ["SchedulerWrapper"]


def _itself(obj: Any) -> Any:
    return obj


class SchedulerWrapper(TrialScheduler):
    """Forwards every ``TrialScheduler`` method to ``inner`` through ``_call``."""

    def __init__(self, inner: TrialScheduler) -> None:
        self.inner = inner

    def _call(self, method: str, *args: Any) -> Any:
        return getattr(self.inner, method)(*args)

    # ``metric``/``mode`` live on the wrapped scheduler (the runner checks results against them).
    @property
    def metric(self) -> str | None:
        return self.inner.metric

    @metric.setter
    def metric(self, value: str | None) -> None:
        self.inner.metric = value

    @property
    def mode(self) -> str | None:
        return self.inner.mode

    @mode.setter
    def mode(self, value: str | None) -> None:
        self.inner.mode = value

    def __reduce__(self) -> Any:
        return (_itself, (self.inner,))

    def set_search_properties(self, metric: str | None, mode: str | None) -> bool:
        return bool(self._call("set_search_properties", metric, mode))

    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._call("on_trial_add", runner, trial)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._call("on_trial_error", runner, trial)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        return self._call("on_trial_result", runner, trial, result)

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView,
                          result: Mapping[str, Any] | None) -> None:
        self._call("on_trial_complete", runner, trial, result)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._call("on_trial_remove", runner, trial)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return self._call("choose_trial_to_run", runner)

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return self._call("decision_point", trial)

    def debug_string(self) -> str:
        return self._call("debug_string")

    def save(self) -> Any:
        return self._call("save")

    def restore(self, state: Any) -> None:
        self._call("restore", state)
