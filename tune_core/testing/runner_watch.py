"""``RunnerWatch``: the runner as a watched scheduler sees it, checking each action on a trial.

Reads pass through to the runner. An action (``pause_trial``, ``stop_trial``, ``save_trial``,
``restart_trial``) is logged with the trial's ordinal and status, checked (a trial of this run, not
one that has ended), then applied; the twin's view (``apply=False``) only logs, so a scheduler
restored from another's state can be asked the same questions without changing the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tune_core.interfaces import RUNNING, TrialRunnerView, TrialView
from tune_core.trial import Trial

if TYPE_CHECKING:
    from tune_core.testing.watch import Watch

__all__ = ["RunnerWatch", "view_of"]


def view_of(trial: Any) -> Any:
    """The view of ``trial`` (the runner accepts its own trials where it takes views)."""
    return trial.view if isinstance(trial, Trial) else trial


class RunnerWatch(TrialRunnerView):
    """The runner as the watched scheduler sees it: reads pass through; actions are checked and
    logged, and with ``apply=False`` (the twin's view) only logged."""

    def __init__(self, runner: TrialRunnerView, watch: Watch, apply: bool = True) -> None:
        self._runner = runner
        self._watch = watch
        self._apply = apply
        self.actions: list[tuple[Any, ...]] = []

    def get_trials(self) -> list[TrialView]:
        return self._runner.get_trials()

    def get_trial(self, trial_id: str) -> TrialView | None:
        return self._runner.get_trial(trial_id)

    def trials_with_status(self, *statuses: str) -> list[TrialView]:
        return self._runner.trials_with_status(*statuses)

    def has_resources(self, resources: Any) -> bool:
        return self._runner.has_resources(resources)

    def pause_trial(self, trial: TrialView) -> None:
        self._act("pause_trial", trial)

    def stop_trial(self, trial: TrialView) -> None:
        self._act("stop_trial", trial)

    def save_trial(self, trial: TrialView) -> bool:
        return bool(self._act("save_trial", trial, default=False))

    def restart_trial(self, trial: TrialView, *, from_trial: TrialView, **kwargs: Any) -> None:
        self._act("restart_trial", trial, from_trial=from_trial, **kwargs)

    def _act(self, action: str, trial: Any, default: Any = None, **kwargs: Any) -> Any:
        watch, view = self._watch, view_of(trial)
        if not isinstance(view, TrialView) or self._runner.get_trial(view.trial_id) is not view:
            watch.checker.add("invalid-decision", f"{action}:foreign",
                              f"runner.{action}({trial!r}) on something that is not a trial of this run")
            return default
        other = view_of(kwargs.get("from_trial"))
        logged = (action, watch.ordinal(view), view.status) + (
            (watch.ordinal(other),) if isinstance(other, TrialView) else ())
        self.actions.append(logged)
        if view.is_finished() and self._apply:
            watch.checker.add("finished-trial", action,
                              f"runner.{action}() on {watch.label(view)}, which had ended ({view.status})")
            return default
        if not self._apply:
            return view.status == RUNNING if action == "save_trial" else default
        return getattr(self._runner, action)(trial, **kwargs)
