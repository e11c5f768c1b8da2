"""``tune-core report DIR``: the command's body (imported only when the command runs)."""

from __future__ import annotations

import argparse

from tune_core import ExperimentAnalysis, TuneError
from tune_report.report import write_report


def run(args: argparse.Namespace) -> int:
    """Write the report and say where, what it shows and how long it took."""
    analysis = ExperimentAnalysis(args.experiment_dir, latest_run=not args.all_runs, strict=False)
    try:
        info = write_report(analysis, args.output, metric=args.metric, mode=args.mode, top=args.top)
    except OSError as exc:
        raise TuneError(f"could not write the report to {args.output!r}: {exc}") from exc
    size = info.path.stat().st_size / 1e6
    left_out = f", {info.missing} without it left out" if info.missing else ""
    print(f"wrote {info.path} ({size:.1f} MB): {info.trials} trials{left_out}, "
          f"metric {info.metric} ({info.mode}), in {info.seconds:.2f} s")
    return 0
