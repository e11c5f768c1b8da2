"""FIFO: run trials in the order they were added; never stop one early."""

from __future__ import annotations

from typing import Any

from tune_core.interfaces import (
    CONTINUE,
    PAUSED,
    PENDING,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)

__all__ = ["FIFOScheduler"]


class FIFOScheduler(TrialScheduler):
    """The default: first PENDING trial that fits, else first PAUSED one; every result continues."""

    def __init__(self, metric: str | None = None, mode: str | None = None):
        self.metric = metric
        self.mode = mode

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return first_fitting(runner, PENDING) or first_fitting(runner, PAUSED)

    def debug_string(self) -> str:
        return "Using FIFO scheduling algorithm."


def first_fitting(runner: TrialRunnerView, status: str) -> TrialView | None:
    """The first trial in ``status`` whose resources are free now (``TrialRunnerView.first_fitting``)."""
    return runner.first_fitting(runner.trials_with_status(status))
