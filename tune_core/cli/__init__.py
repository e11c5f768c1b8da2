"""The ``tune-core`` command (also ``python -m tune_core``). One module per subcommand.

Each subcommand module has ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>`` as the handler. Plugins add subcommands of their own
(``tune_commands``: ``tune-core viskit``, ``tune-core report``), listed after the core's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("run", "resume", "ls", "plugins")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tune-core",
        description="Hyperparameter tuning: run experiments, inspect results, list plugins.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"tune_core.cli.{name}")
        module.register(subparsers)
    _add_plugin_commands(subparsers)
    return parser


def _add_plugin_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The subcommands plugins register. A plugin that cannot load is skipped (with its warning, as
    everywhere), so the core's own subcommands always work; a name of the core's is refused."""
    from tune_core.errors import TuneError
    from tune_core.plugins.registry import available

    for name, reg in available("command").items():
        if name in SUBCOMMANDS:
            raise TuneError(f"plugin {reg.source.plugin!r} registers the command {name!r}, which is "
                            f"tune-core's own ({', '.join(SUBCOMMANDS)}); rename it")
        spec = reg.spec
        parser = subparsers.add_parser(name, help=spec.description, description=spec.description)
        spec.add_arguments(parser)
        parser.set_defaults(func=spec.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand: its exit status; a ``TuneError`` is one line on stderr, never a traceback."""
    from tune_core.errors import TuneError

    try:
        parser = build_parser()
    except TuneError as exc:  # A plugin's command that clashes: one line, as any error.
        print(f"tune-core: error: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # Here, not at exit, so that a closed pipe is seen below.
        return status
    except TuneError as exc:
        print(f"tune-core: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        if not exc.args:  # The run's own interruption has said what to do already.
            print("tune-core: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`tune-core plugins --json | head -1`): stop quietly, as `cat` does.
        # What is still buffered goes to /dev/null, so the interpreter's exit does not fail on it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
