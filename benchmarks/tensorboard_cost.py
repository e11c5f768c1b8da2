"""What the ``tensorboard`` logger (tune-tensorboard) costs: W1 with and without it, in one run.

W1 (20 trials x 500 results, tight loop, 2 CPUs, FIFO, see ``workloads.py``) with the default loggers
only (``json``, ``csv``) and with ``tensorboard`` beside them, alternating, each run a fresh process;
prints the median results/s of each, the cost (1 - with / without; target <= 30%), and the size of
the event files per 1,000 results. ``--variants`` adds ``tensorboardx``: the same with tensorboardX
imported before the timed call, as a logger importing it at construction would (numpy's BLAS thread
then makes the local executor start its workers as fresh interpreters instead of forking them).

Usage: ``python benchmarks/tensorboard_cost.py [--repeat 3] [--dir D] [--variants tensorboardx] [--json F]``
(needs tune-tensorboard installed: ``pip install -e plugins/tune-tensorboard``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LOGGERS = {
    "default": ["json", "csv"],
    "tensorboard": ["json", "csv", "tensorboard"],
    "tensorboardx": ["json", "csv", "tensorboard"],
}


def child(variant: str, local_dir: Path) -> dict[str, Any]:
    """One W1 run in this process: run seconds, results logged, event-file bytes."""
    sys.path.insert(0, str(HERE))
    from tune_child import make_trainable
    from workloads import CPUS, WORKLOADS

    import tune_core as tune

    if variant == "tensorboardx":
        import tensorboardX  # noqa: F401  (the import is what is measured)
    w1 = WORKLOADS["W1"]
    experiments = {"W1": {"run": make_trainable(w1.results, w1.sleep),
                          "config": {"i": tune.grid_search(list(range(w1.trials)))},
                          "resources": {"cpu": 1}, "local_dir": str(local_dir)}}
    started = time.perf_counter()
    tune.run_experiments(experiments, scheduler="fifo", loggers=LOGGERS[variant],
                         executor_config={"num_cpus": CPUS, "num_gpus": 0}, verbose=0)
    run_s = time.perf_counter() - started
    results = sum(sum(1 for line in p.open() if line.strip()) for p in (local_dir / "W1").glob("*/result.json"))
    event_bytes = sum(p.stat().st_size for p in (local_dir / "W1").glob("*/events.out.tfevents.*"))
    return {"run_s": run_s, "results": results, "event_bytes": event_bytes}


def run_once(variant: str, base: Path) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix=f"tb-{variant}-", dir=base))
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", variant, str(out)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{variant} run failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where runs write (default: the temp dir)")
    parser.add_argument("--variants", default="", help="extra variants, comma-separated: tensorboardx")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    variants = ["default", "tensorboard", *[v for v in args.variants.split(",") if v]]
    base = args.dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for round_ in range(args.repeat):
        for variant in variants if round_ % 2 == 0 else variants[::-1]:
            run = run_once(variant, base)
            run["results_per_s"] = run["results"] / run["run_s"]
            runs[variant].append(run)
            print(f"round {round_ + 1} {variant:12} {run['results_per_s']:9,.0f} results/s "
                  f"({run['results']} results in {run['run_s']:.3f} s)", flush=True)
    medians = {v: statistics.median(r["results_per_s"] for r in rs) for v, rs in runs.items()}
    print("\nW1 results/s, medians of", args.repeat)
    for variant in variants:
        samples = ", ".join(f"{r['results_per_s']:,.0f}" for r in runs[variant])
        cost = "" if variant == "default" else f"  cost {1 - medians[variant] / medians['default']:.1%}"
        print(f"  {variant:12} {medians[variant]:9,.0f}  [{samples}]{cost}")
    tb = runs["tensorboard"]
    per_1000 = statistics.median(r["event_bytes"] / r["results"] * 1000 for r in tb)
    print(f"event files: {per_1000 / 1024:.1f} KiB per 1,000 results ({tb[0]['event_bytes']:,} bytes for "
          f"{tb[0]['results']:,} results)")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": medians, "event_bytes_per_1000": per_1000},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
