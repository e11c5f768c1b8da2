"""``tune-core plugins [--json] [--no-plugins]``: which plugins are installed and what each provides."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``plugins`` subcommand to the ``tune-core`` parser."""
    parser = subparsers.add_parser(
        "plugins",
        help="list installed plugins and the names they provide",
        description="List every plugin (built-in or installed), its distribution and version, and the "
        "scheduler/searcher/logger/executor names it provides. Skipped plugins are listed with the reason.",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--no-plugins",
        action="store_true",
        help="load only the built-ins (same as TUNE_NO_PLUGINS=1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the plugin table (or JSON). Exit 0; skipped plugins are shown, not fatal, unless strict."""
    import warnings

    from tune_core.plugins.errors import PluginWarning
    from tune_core.plugins.listing import list_plugins, to_json
    from tune_core.plugins.manager import get_plugin_manager, load_plugins

    with warnings.catch_warnings():
        # every skipped plugin is a row of the table instead
        warnings.simplefilter("ignore", PluginWarning)
        pm = load_plugins(entry_points=False) if args.no_plugins else get_plugin_manager()
        infos = list_plugins(pm)
    if args.json:
        json.dump({"plugins": to_json(infos)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    rows = [("PLUGIN", "DISTRIBUTION", "VERSION", "PROVIDES")]
    for info in infos:
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.provides.items())
        if info.observes:
            provides = "; ".join(filter(None, [provides, "observes: " + ", ".join(info.observes)]))
        if info.conflicts:
            provides += f"  [CONFLICT: {', '.join(info.conflicts)}]"
        if info.error:
            provides = f"SKIPPED: {info.error}"
        source = info.source
        rows.append((source.plugin, source.dist or "-", source.version or "-", provides or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
        )
    return 0
