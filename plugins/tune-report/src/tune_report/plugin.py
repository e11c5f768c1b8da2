"""The module the ``tune_core`` entry point names: registers the ``tune-core report`` command.

Kept light (argparse only): every ``tune-core`` invocation imports it; plotly is imported only when
the command runs (``lazy("tune_report.cli:run")``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from tune_core.plugins import CommandSpec, hookimpl, lazy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``tune-core report``."""
    parser.add_argument("experiment_dir", help="<local_dir>/<experiment name>")
    parser.add_argument("-o", "--output", default="report.html",
                        help="the HTML file to write (default: report.html)")
    parser.add_argument("--metric", help="the metric to rank and color by (default: the usual one "
                        "reported: mean_accuracy, episode_reward_mean, mean_loss, ...)")
    parser.add_argument("--mode", choices=("max", "min"),
                        help="whether higher or lower is better (default: known for the usual metrics)")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="rows in the table of best trials (default: 10)")
    parser.add_argument("--all-runs", action="store_true",
                        help="include the trials earlier runs of the experiment left beside the latest's")


@hookimpl
def tune_commands() -> Iterator[CommandSpec]:
    yield CommandSpec(
        name="report",
        description="write a self-contained HTML report of an experiment: parallel coordinates, "
                    "learning curves, best trials",
        add_arguments=add_arguments,
        run=lazy("tune_report.cli:run"),
    )
