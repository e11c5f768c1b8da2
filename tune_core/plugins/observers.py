"""Calling the observer hooks (``tune_on_*``) from the runner: cheap when unused, safe when broken.

This is the one path from the runner to the observer hooks. ``Observers.from_plugins()`` binds them
once per run: ``observers.trial_result(trial, result)`` and friends, one attribute per hook, each a
no-op when no plugin implements the hook, so the per-result path pays nothing for observers nobody
registered. Each implementation is called on its own, so one failing plugin warns (or raises when
strict) and the others still hear the event.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tune_core.plugins import hookspecs
from tune_core.plugins.errors import add_note, describe_exception
from tune_core.plugins.manager import TunePluginManager, get_plugin_manager

__all__ = ["OBSERVER_HOOKS", "ObserverHooks", "Observers", "observer_hooks"]

#: In the order a run fires them (the order they are defined in ``hookspecs``).
OBSERVER_HOOKS = tuple(name for name in vars(hookspecs) if name.startswith("tune_on_"))


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


def _noop(*args: Any) -> None:
    return None


class Observers:
    """One caller per observer hook, named after it without ``tune_on_``, taking the hook's
    arguments in the spec's order: ``experiment_start(experiments)``, ``trial_start(trial)``,
    ``trial_result(trial, result)``, ``trial_complete(trial)``, ``trial_error(trial, error,
    will_retry)``, ``experiment_end(trials)``."""

    experiment_start: Callable[..., None]
    trial_start: Callable[..., None]
    trial_result: Callable[..., None]
    trial_complete: Callable[..., None]
    trial_error: Callable[..., None]
    experiment_end: Callable[..., None]

    def __init__(self, hooks: ObserverHooks | None = None):
        for hook in OBSERVER_HOOKS:
            setattr(self, hook[len("tune_on_"):], _caller(hooks, hook))

    @classmethod
    def from_plugins(cls, pm: TunePluginManager | None = None) -> Observers:
        return cls(observer_hooks(pm))


def _caller(hooks: ObserverHooks | None, hook: str) -> Callable[..., None]:
    if hooks is None or hook not in hooks:
        return _noop
    notify = hooks.notify
    params = tuple(inspect.signature(getattr(hookspecs, hook)).parameters)

    def call(*args: Any) -> None:
        notify(hook, **dict(zip(params, args, strict=True)))

    return call
