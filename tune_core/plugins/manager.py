"""Loading plugins: built-ins first, then each ``tune_core`` entry point on its own, guarded.

The manager knows hooks and where plugins came from, never what a scheduler is (that is
``registry.py``). There is no import-time global: ``get_plugin_manager()`` builds one on first use and
caches it; ``get_plugin_manager.cache_clear()`` forgets it.

Environment:
    ``TUNE_STRICT_PLUGINS=1``: a broken plugin is an error instead of a warning.
    ``TUNE_DISABLE_PLUGINS=a,b``: skip these entry points (entry-point or distribution names).
    ``TUNE_NO_PLUGINS=1``: load only the built-ins (``tune-core --no-plugins``).
    ``TUNE_TRACE_PLUGINS=1``: trace plugin loading and hook calls to stderr.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pluggy

from tune_core.errors import closest
from tune_core.plugins import hookspecs
from tune_core.plugins.errors import (
    PluginError,
    describe_exception,
    failure_message,
    report_failure,
)
from tune_core.plugins.types import PluginSource

__all__ = [
    "PluginFailure",
    "TunePluginManager",
    "env_flag",
    "get_plugin_manager",
    "load_plugins",
    "register_checked",
]


def env_flag(name: str) -> bool:
    """True when the environment variable is set to something other than ``""``, ``0`` or ``false``."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was skipped, and why (shown by ``tune-core plugins``)."""

    source: PluginSource
    message: str


class TunePluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's ``PluginSource`` and the plugins it skipped."""

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.strict = strict
        self.tracing = False
        self.sources: dict[str, PluginSource] = {}
        self.failures: list[PluginFailure] = []

    def register(
        self, plugin: Any, name: str | None = None, source: PluginSource | None = None
    ) -> str | None:
        """Register ``plugin``; ``source`` says where it came from (default: registered directly)."""
        registered = super().register(plugin, name)
        if registered is not None:
            self.sources[registered] = source or PluginSource(plugin=registered)
        return registered

    def unregister(self, plugin: Any | None = None, name: str | None = None) -> Any | None:
        name = name or (self.get_name(plugin) if plugin is not None else None)
        removed = super().unregister(plugin, name)
        if name is not None:
            self.sources.pop(name, None)
        return removed

    def source_of(self, plugin_name: str) -> PluginSource:
        """Where the plugin registered as ``plugin_name`` came from."""
        return self.sources.get(plugin_name) or PluginSource(plugin=plugin_name)

    def report(self, source: PluginSource, what: str, exc: BaseException | str) -> None:
        """Skip-and-warn (or raise, when strict) for a plugin that misbehaved; warn once per message."""
        message = failure_message(source, what, exc)
        if any(f.message == message for f in self.failures):
            return
        report_failure(source, what, exc, strict=self.strict, stacklevel=4)
        self.failures.append(PluginFailure(source, message))


def register_checked(pm: TunePluginManager, plugin: Any, source: PluginSource) -> bool:
    """Register one plugin, rejecting it (warn, or raise when strict) if it implements unknown hooks.

    Returns:
        True if the plugin is now registered.
    """
    if pm.has_plugin(source.plugin):
        other = pm.source_of(source.plugin)
        pm.report(
            source,
            "could not load",
            f"the name {source.plugin!r} is already taken by {other.label}",
        )
        return False
    try:
        pm.register(plugin, name=source.plugin, source=source)
    except Exception as exc:  # pluggy validation errors, or a plugin registered twice
        pm.report(source, "could not load", exc)
        return False
    for caller in pm.get_hookcallers(plugin) or []:
        if not caller.has_spec() and any(not i.optionalhook for i in caller.get_hookimpls()):
            pm.unregister(plugin)
            hint = closest(caller.name, [n for n, c in vars(pm.hook).items() if c.has_spec()])
            detail = f"implements unknown hook {caller.name!r}" + (
                f" (did you mean {hint!r}?)" if hint else ""
            )
            pm.report(source, "could not load", detail)
            return False
    pm.trace("registered", source.plugin, f"({source.label})")
    return True


def _tune_core_version() -> str:
    try:
        return importlib.metadata.version("tune-core")
    except importlib.metadata.PackageNotFoundError:
        from tune_core import __version__

        return __version__


def _load_builtins(pm: TunePluginManager) -> None:
    from tune_core.builtin import BUILTIN_PLUGINS

    version = _tune_core_version()
    for module_name in BUILTIN_PLUGINS:
        source = PluginSource(plugin=module_name, dist="tune-core", version=version, builtin=True)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            pm.report(source, "could not load", exc)
            continue
        register_checked(pm, module, source)


def _load_entry_points(pm: TunePluginManager, disabled: Collection[str]) -> None:
    found = importlib.metadata.entry_points(group=hookspecs.PROJECT)
    for ep in sorted(found, key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        source = PluginSource(
            plugin=ep.name,
            dist=dist.name if dist is not None else ep.value.split(".")[0],
            version=dist.version if dist is not None else None,
            entry_point=ep.name,
        )
        if ep.name in disabled or source.dist in disabled:
            pm.trace("disabled", ep.name, f"({source.label})")
            pm.set_blocked(ep.name)
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            pm.report(source, "could not load", exc)
            continue
        register_checked(pm, plugin, source)


def load_plugins(
    *,
    entry_points: bool | None = None,
    strict: bool | None = None,
    disabled: Collection[str] | None = None,
    trace: bool | None = None,
) -> TunePluginManager:
    """Build a new manager: built-ins, then the ``tune_core`` entry points, then ``check_pending()``.

    Args:
        entry_points: load outside plugins (default: unless ``TUNE_NO_PLUGINS=1``).
        strict: a broken plugin raises ``PluginError`` (default: ``TUNE_STRICT_PLUGINS=1``).
        disabled: entry-point or distribution names to skip (default: ``TUNE_DISABLE_PLUGINS``).
        trace: trace loading and hook calls to stderr (default: ``TUNE_TRACE_PLUGINS=1``).
    """
    pm = TunePluginManager(strict=env_flag("TUNE_STRICT_PLUGINS") if strict is None else strict)
    if env_flag("TUNE_TRACE_PLUGINS") if trace is None else trace:
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
        pm.tracing = True
    if disabled is None:
        disabled = {
            n.strip() for n in os.environ.get("TUNE_DISABLE_PLUGINS", "").split(",") if n.strip()
        }
    _load_builtins(pm)
    if not env_flag("TUNE_NO_PLUGINS") if entry_points is None else entry_points:
        _load_entry_points(pm, disabled)
    try:
        pm.check_pending()  # register_checked has already rejected unknown hooks; this is the backstop
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r}: {describe_exception(exc)}") from exc
    return pm


@functools.cache
def get_plugin_manager() -> TunePluginManager:
    """The process's plugin manager, built on first use from the environment (see module docs)."""
    return load_plugins()
