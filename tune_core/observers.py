"""Broadcast the ``tune_on_<event>`` observer hooks to plugins, at no cost when none listens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Observers"]


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


class Observers:
    """Bound callers for each observer hook; a hook with no implementation is a no-op."""

    def __init__(self, hook: Any = None):
        def caller(name: str, *params: str) -> Callable[..., None]:
            hook_caller = getattr(hook, name, None) if hook is not None else None
            if hook_caller is None or not hook_caller.get_hookimpls():
                return _noop

            def call(*args: Any) -> None:
                hook_caller(**dict(zip(params, args, strict=True)))

            return call

        self.experiment_start = caller("tune_on_experiment_start", "experiments")
        self.trial_start = caller("tune_on_trial_start", "trial")
        self.trial_result = caller("tune_on_trial_result", "trial", "result")
        self.trial_complete = caller("tune_on_trial_complete", "trial")
        self.trial_error = caller("tune_on_trial_error", "trial", "error")
        self.experiment_end = caller("tune_on_experiment_end", "trials")

    @classmethod
    def from_plugins(cls) -> Observers:
        from tune_core.plugins.manager import get_plugin_manager

        return cls(get_plugin_manager().hook)
