"""The module the ``tune_core`` entry point names: the service ``server`` and ``tune-core client``.

Kept light: every ``tune-core`` invocation imports it; the server and the client load lazily.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from tune_core.plugins import CommandSpec, ServiceSpec, hookimpl, lazy


@hookimpl
def tune_services() -> Iterator[ServiceSpec]:
    yield ServiceSpec(name="server", factory=lazy("tune_server.server:TuneServer"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``tune-core client [--address A] [--token T] [--experiment-dir D] ls|add|stop ...``."""
    parser.add_argument("--address", help="host:port of the server (default: the experiment dir's "
                        ".tune_server.json, else localhost:4321)")
    parser.add_argument("--token", help="the server's bearer token (default: $TUNE_SERVER_TOKEN, else "
                        "the experiment dir's .tune_server.json)")
    parser.add_argument("--experiment-dir", help="the running experiment's directory (holds .tune_server.json)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ls|add|stop")
    actions.add_parser("ls", help="list the trials")
    add = actions.add_parser("add", help="add the trials of an experiment spec")
    add.add_argument("name", help="the new experiment's name")
    add.add_argument("spec", help='the spec as JSON, e.g. \'{"run": "module:function", "config": {...}}\'')
    stop = actions.add_parser("stop", help="stop a trial")
    stop.add_argument("trial_id")


@hookimpl
def tune_commands() -> Iterator[CommandSpec]:
    yield CommandSpec(name="client", description="list, add and stop the trials of a running experiment "
                      "(its Client API server)", add_arguments=add_arguments, run=lazy("tune_server.cli:run"))
