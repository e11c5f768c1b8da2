"""``tune-core ls <experiment_dir>``: a table of an experiment's trials and their last results.

Sorting, filtering, column choice and export to CSV/JSON happen here; reading the files is
``ExperimentAnalysis``'s job. A rich table on a terminal, plain aligned text otherwise.
"""

from __future__ import annotations

import argparse
import math
import operator
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError, unknown_name_error

if TYPE_CHECKING:
    import pandas as pd

    from tune_core.analysis import ExperimentAnalysis

__all__ = ["list_trials", "register"]

#: Metrics shown by default when a trial reported them (the seed's status-line metrics and progress).
DEFAULT_METRICS = (
    "training_iteration",
    "time_total_s",
    "timesteps_total",
    "episode_reward_mean",
    "mean_loss",
    "mean_accuracy",
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_FILTER = re.compile(r"^\s*(.+?)\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ls`` subcommand."""
    parser = subparsers.add_parser(
        "ls",
        help="list the trials of an experiment",
        description="List the trials of an experiment directory with their last results.",
    )
    parser.add_argument("experiment_dir", help="<local_dir>/<experiment name>")
    parser.add_argument(
        "--sort",
        action="append",
        default=[],
        metavar="COL",
        help="sort by these columns (repeat, or a,b)",
    )
    parser.add_argument("--desc", action="store_true", help="sort in descending order (every --sort column)")
    parser.add_argument(
        "--columns", metavar="A,B", help="columns to show (config keys may omit 'config/')"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar='"COL OP VALUE"',
        help='keep trials where the condition holds, e.g. "mean_accuracy>0.9"; OP is one of '
        "< <= == != >= >; repeat it to keep trials where all hold",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="show at most N trials")
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write the table to FILE (.csv or .json)"
    )
    parser.add_argument(
        "--all", action="store_true", help="also list the trials earlier runs of the experiment left"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``tune-core ls``."""
    from tune_core.state import executor_in

    analysis = _open(args.experiment_dir, all_runs=args.all)
    where = executor_in(analysis.experiment_dir)
    if where:
        print(f"tune-core: the trials ran on {where}", file=sys.stderr)
    table = list_trials(
        analysis,
        sort=[c for item in args.sort for c in item.split(",") if c.strip()],
        desc=args.desc,
        columns=[c for c in args.columns.split(",") if c.strip()] if args.columns else None,
        filters=args.filter,
        limit=args.limit,
    )
    if args.output:
        _write(table, args.output)
        print(f"wrote {len(table)} trial(s) to {args.output}")
    elif table.empty and args.filter:
        print(f"no trials in {args.experiment_dir} match {' and '.join(args.filter)}")
    elif table.empty:
        print(f"no trials in {args.experiment_dir}")
    elif sys.stdout.isatty():
        _print_rich(table)
    else:
        sys.stdout.write(format_plain(table))
    return 0


def _open(experiment_dir: str, all_runs: bool) -> ExperimentAnalysis:
    """The experiment to list, with a line on stderr for what the table cannot show (a damaged
    state's statuses, earlier runs' trials)."""
    from pathlib import Path

    from tune_core.analysis import ExperimentAnalysis, trial_dirs
    from tune_core.state import STATE_FILE

    path = Path(os.path.expanduser(experiment_dir))
    if path.is_dir() and not (path / STATE_FILE).exists() and not trial_dirs(path):
        raise TuneError(f"{experiment_dir} is not an experiment directory: it holds no {STATE_FILE} "
                        "and no trial directories")
    analysis = ExperimentAnalysis(path, latest_run=not all_runs, strict=False)
    if analysis.state_problem:
        print(f"tune-core: warning: {analysis.state_problem}; trial statuses are unknown", file=sys.stderr)
    if analysis.earlier_runs:
        print(f"tune-core: {analysis.earlier_runs} trial directories of earlier runs are not shown; "
              "--all lists them", file=sys.stderr)
    return analysis


def list_trials(
    experiment_dir: str | ExperimentAnalysis,
    sort: Sequence[str] = (),
    desc: bool = False,
    columns: Sequence[str] | None = None,
    filters: Sequence[str] = (),
    limit: int | None = None,
) -> pd.DataFrame:
    """The table ``ls`` shows: ``trial_name``, ``status``, then the chosen (or default) columns."""
    import pandas as pd

    from tune_core.analysis import ExperimentAnalysis

    analysis = experiment_dir if isinstance(experiment_dir, ExperimentAnalysis) else ExperimentAnalysis(experiment_dir)
    df = analysis.dataframe()
    if df.empty:
        return pd.DataFrame(columns=["trial_name", "status"])
    statuses = analysis.trial_statuses
    df.insert(0, "trial_name", [os.path.basename(d) for d in df["logdir"]])
    df.insert(1, "status", [statuses.get(t) or "-" for t in df["trial_id"]])
    available = list(df.columns)
    for condition in filters:
        df = df[_mask(df, condition, available)]
    if sort:
        by = [_column(c, available) for c in sort]
        df = df.sort_values(by=by, ascending=not desc, na_position="last", kind="stable")
    if limit is not None:
        if limit < 0:
            raise TuneError(f"--limit must be >= 0, got {limit}")
        df = df.head(limit)
    chosen = [_column(c, available) for c in columns] if columns else _default_columns(df)
    shown = ["trial_name", "status"] + [c for c in chosen if c not in ("trial_name", "status")]
    return df[shown].reset_index(drop=True)


def _column(name: str, available: Sequence[str]) -> str:
    """``name`` as a column of the table; ``lr`` finds ``config/lr``."""
    name = name.strip()
    if name in available:
        return name
    if f"config/{name}" in available:
        return f"config/{name}"
    raise unknown_name_error("column", name, available)


def _default_columns(df: pd.DataFrame) -> list[str]:
    """Where the trials ran (the executor's ``node``, or the host when there were several), config
    keys that differ between trials, then the usual metrics that were reported."""
    config = [c for c in df.columns if c.startswith("config/")]
    varying = [c for c in config if df[c].astype(str).nunique() > 1] or config
    where = ["node"] if "node" in df.columns else [
        c for c in ("hostname",) if c in df.columns and df[c].dropna().astype(str).nunique() > 1]
    return where + varying + [m for m in DEFAULT_METRICS if m in df.columns]


def _mask(df: pd.DataFrame, condition: str, available: Sequence[str]) -> pd.Series:
    match = _FILTER.match(condition)
    if not match or not match.group(3):
        raise TuneError(
            f"bad --filter {condition!r}: expected 'COLUMN OP VALUE', OP one of < <= == != >= >"
        )
    col, op, raw = match.groups()
    column = df[_column(col, available)]
    value: Any = raw.strip("'\"")
    try:
        value = float(value)
    except ValueError:
        return _OPS[op](column.astype(str), value)
    import pandas as pd

    return _OPS[op](pd.to_numeric(column, errors="coerce"), value)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_plain(table: pd.DataFrame) -> str:
    """The table as aligned text: numbers right-aligned, two spaces between columns."""
    import pandas as pd

    names = [str(c) for c in table.columns]
    cells = [[_cell(v) for v in table[c].tolist()] for c in table.columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    widths = [max([len(n)] + [len(v) for v in col]) for n, col in zip(names, cells, strict=True)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip() + "\n"

    rows = [line(names)]
    rows += [line([col[i] for col in cells]) for i in range(len(table))]
    return "".join(rows)


def _print_rich(table: pd.DataFrame) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(show_edge=False, header_style="bold")
    for name in table.columns:
        numeric = table[name].dtype.kind in "iuf"
        out.add_column(
            str(name), justify="right" if numeric else "left", no_wrap=name == "trial_name"
        )
    for row in table.itertuples(index=False):
        out.add_row(*(_cell(v) for v in row))
    Console().print(out)


def _write(table: pd.DataFrame, path: str) -> None:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        table.to_csv(path, index=False)
    elif ext == ".json":
        table.to_json(path, orient="records", indent=2)
    else:
        raise TuneError(f"--output {path!r}: the file name must end in .csv or .json")
