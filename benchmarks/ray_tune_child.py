"""One W1-W4 run on Ray Tune itself, in a fresh process: the reference the Ray executor is held to.

Ray Tune with its defaults: a function trainable reporting through ``ray.tune.report``, FIFO, default
loggers, 1 CPU per trial on a 2-CPU local Ray, console output off (``verbose=0``). Ray is started
before the timed ``Tuner.fit`` call, as ``tune_child.py`` does for the Ray executor, so both pay the
same (W3's figure is the whole process, Ray's start and shutdown included). Prints one JSON line, ``{"run_s": ..., "results": ...}``,
after checking the results in every trial's ``result.json``. Usage::

    python benchmarks/ray_tune_child.py W1 OUT_DIR [--trials N] [--reuse-actors]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workloads import RAY_INIT, WORKLOADS, Workload

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage-stats notice, no network attempt

import ray
from ray import tune


def make_trainable(results: int, sleep: float) -> Callable[[dict[str, Any]], None]:
    """The same loop as tune_child's trainable, reporting the way Ray Tune 2.60 wants."""

    def trainable(config: dict[str, Any]) -> None:
        for i in range(1, results + 1):
            if sleep:
                time.sleep(sleep)
            tune.report({"mean_accuracy": i, "timesteps_total": i})

    return trainable


def fit(workload: Workload, out_dir: Path, trials: int, reuse_actors: bool | None) -> float:
    """Seconds of one ``Tuner.fit`` call; ``reuse_actors=None`` leaves Ray Tune's default."""
    tune_config = tune.TuneConfig() if reuse_actors is None else tune.TuneConfig(reuse_actors=reuse_actors)
    tuner = tune.Tuner(
        tune.with_resources(make_trainable(workload.results, workload.sleep), {"cpu": 1}),
        param_space={"i": tune.grid_search(list(range(trials)))},
        tune_config=tune_config,
        run_config=tune.RunConfig(name=workload.id, storage_path=str(out_dir.resolve()), verbose=0),
    )
    started = time.perf_counter()
    grid = tuner.fit()
    run_s = time.perf_counter() - started
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} trials failed: {grid.errors[0]!r}")
    return run_s


def logged(out_dir: Path, workload: Workload) -> int:
    """Results that reached disk: the lines of every trial's result.json."""
    return sum(sum(1 for line in path.open() if line.strip())
               for path in (out_dir / workload.id).glob("*/result.json"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--trials", type=int, help="trials instead of the workload's (W2 at Ray Tune's speed)")
    parser.add_argument("--reuse-actors", action="store_true", help="TuneConfig(reuse_actors=True)")
    args = parser.parse_args()
    workload = WORKLOADS[args.workload]
    ray.init(**RAY_INIT)  # outside the timed call; W3's figure, the whole process, includes it
    try:
        run_s = fit(workload, args.out_dir, args.trials or workload.trials, True if args.reuse_actors else None)
    finally:
        ray.shutdown()
    print(json.dumps({"run_s": run_s, "results": logged(args.out_dir, workload)}))


if __name__ == "__main__":
    main()
