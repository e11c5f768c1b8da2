"""What ``tune-core plugins`` shows: every plugin, where it came from, the names it provides.

Kept apart from the CLI so the same data serves the table, ``--json`` and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tune_core.plugins.kinds import KINDS
from tune_core.plugins.manager import TunePluginManager
from tune_core.plugins.observers import OBSERVER_HOOKS
from tune_core.plugins.registry import records
from tune_core.plugins.types import PluginSource

__all__ = ["PluginInfo", "list_plugins", "to_json"]


@dataclass
class PluginInfo:
    """One row of ``tune-core plugins``.

    Attributes:
        source: the plugin's name, distribution, version and entry point.
        provides: kind -> names it registers, e.g. ``{"scheduler": ["asha"]}``.
        observes: the ``tune_on_*`` hooks it implements.
        error: why it was skipped, or ``None`` for a working plugin.
        conflicts: names it provides that another plugin provides too.
    """

    source: PluginSource
    provides: dict[str, list[str]] = field(default_factory=dict)
    observes: list[str] = field(default_factory=list)
    error: str | None = None
    conflicts: list[str] = field(default_factory=list)


def list_plugins(pm: TunePluginManager) -> list[PluginInfo]:
    """Every registered plugin (built-ins first) and then every plugin that was skipped."""
    infos: dict[str, PluginInfo] = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked (TUNE_DISABLE_PLUGINS)
            continue
        info = infos[name] = PluginInfo(pm.source_of(name))
        hooks = {caller.name for caller in pm.get_hookcallers(plugin) or []}
        info.observes = [hook for hook in OBSERVER_HOOKS if hook in hooks]
    seen: dict[tuple[str, str], list[str]] = {}
    for kind in KINDS:
        for reg in records(kind, pm):
            plugin_name = reg.source.plugin
            if plugin_name in infos:
                infos[plugin_name].provides.setdefault(kind, []).append(reg.name)
            seen.setdefault((kind, reg.name), []).append(plugin_name)
    for (what, name), owners in seen.items():
        if len(owners) > 1:
            for owner in owners:
                if owner in infos:
                    infos[owner].conflicts.append(f"{what} {name}")
    for failure in pm.failures:
        known = infos.get(failure.source.plugin)
        if known is None:
            infos[failure.source.plugin] = PluginInfo(failure.source, error=failure.message)
        elif known.error is None:
            known.error = failure.message
    return sorted(
        infos.values(), key=lambda i: (not i.source.builtin, i.error is not None, i.source.plugin)
    )


def to_json(infos: list[PluginInfo]) -> list[dict[str, Any]]:
    """JSON-ready rows: plugin, distribution, version, entry_point, builtin, provides, observes, error."""
    return [
        {
            "plugin": info.source.plugin,
            "distribution": info.source.dist,
            "version": info.source.version,
            "entry_point": info.source.entry_point,
            "builtin": info.source.builtin,
            "provides": info.provides,
            "observes": info.observes,
            "conflicts": info.conflicts,
            "error": info.error,
        }
        for info in infos
    ]
