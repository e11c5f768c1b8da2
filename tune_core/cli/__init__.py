"""The ``tune-core`` command (also ``python -m tune_core``). One module per subcommand.

Each subcommand module has ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>`` as the handler.
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand: its exit status; a ``TuneError`` is one line on stderr, never a traceback."""
    from tune_core.errors import TuneError

    parser = build_parser()
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
