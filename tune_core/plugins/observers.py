"""Calling the observer hooks (``tune_on_*``) from the runner: cheap when unused, safe when broken.

Resolve once per run with ``observer_hooks()``; a hook no plugin implements then costs one dict
lookup per event (or nothing, behind ``if "tune_on_trial_result" in observers``). Each
implementation is called on its own, so one failing plugin warns (or raises when strict) and the
others still hear the event.
"""

from __future__ import annotations

from typing import Any

from tune_core.plugins.errors import add_note, describe_exception
from tune_core.plugins.manager import TunePluginManager, get_plugin_manager

__all__ = ["OBSERVER_HOOKS", "ObserverHooks", "observer_hooks"]

OBSERVER_HOOKS = (
    "tune_on_experiment_start",
    "tune_on_trial_start",
    "tune_on_trial_result",
    "tune_on_trial_complete",
    "tune_on_trial_error",
    "tune_on_experiment_end",
)


class ObserverHooks:
    """The observer hooks implemented by the plugins of one manager, captured at creation."""

    def __init__(self, pm: TunePluginManager) -> None:
        self._pm = pm
        self._impls: dict[str, list[Any]] = {}
        self._whole: set[str] = set()  # hooks with wrappers, or traced: go through pluggy itself
        for name in OBSERVER_HOOKS:
            impls = getattr(pm.hook, name).get_hookimpls()
            if impls:
                # pluggy calls the last registered first; keep that order
                self._impls[name] = list(reversed(impls))
                if pm.tracing or any(i.wrapper or i.hookwrapper for i in impls):
                    self._whole.add(name)

    def __contains__(self, hook: str) -> bool:
        """Whether any plugin implements ``hook``: test it to skip building the arguments."""
        return hook in self._impls

    def __bool__(self) -> bool:
        return bool(self._impls)

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call ``hook`` on every plugin implementing it, with the spec's arguments by name."""
        impls = self._impls.get(hook)
        if not impls:
            return
        if hook in self._whole:
            getattr(self._pm.hook, hook)(**kwargs)
            return
        for impl in impls:
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception as exc:
                source = self._pm.source_of(impl.plugin_name)
                if self._pm.strict:
                    add_note(exc, f"raised in {hook} of plugin {source.plugin!r} ({source.label})")
                    raise
                self._pm.report(source, "error in", f"{hook}() raised {describe_exception(exc)}")


def observer_hooks(pm: TunePluginManager | None = None) -> ObserverHooks:
    """The observer hooks to call for one run (of ``pm``, default ``get_plugin_manager()``)."""
    return ObserverHooks(pm or get_plugin_manager())
