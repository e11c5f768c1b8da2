"""Bound callers for the ``tune_on_<event>`` observer hooks, one attribute per event.

Each caller is a no-op when no plugin implements its hook, so the runner's per-result path pays
nothing for observers nobody registered. Delivery (and a broken observer's isolation) is
``tune_core.plugins.observers``'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Observers"]


def _noop(*args: Any) -> None:
    return None


class Observers:
    """``experiment_start(experiments)``, ``trial_start(trial)``, ``trial_result(trial, result)``,
    ``trial_complete(trial)``, ``trial_error(trial, error)``, ``experiment_end(trials)``."""

    def __init__(self, hooks: Any = None):
        def caller(hook: str, *params: str) -> Callable[..., None]:
            if hooks is None or hook not in hooks:
                return _noop
            notify = hooks.notify

            def call(*args: Any) -> None:
                notify(hook, **dict(zip(params, args, strict=True)))

            return call

        self.experiment_start = caller("tune_on_experiment_start", "experiments")
        self.trial_start = caller("tune_on_trial_start", "trial")
        self.trial_result = caller("tune_on_trial_result", "trial", "result")
        self.trial_complete = caller("tune_on_trial_complete", "trial")
        self.trial_error = caller("tune_on_trial_error", "trial", "error")
        self.experiment_end = caller("tune_on_experiment_end", "trials")

    @classmethod
    def from_plugins(cls) -> Observers:
        from tune_core.plugins.observers import observer_hooks

        return cls(observer_hooks())
