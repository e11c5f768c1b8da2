"""One W1-W4 run on tune-core, in a fresh process (the harness starts it).

Times the ``run_experiments`` call alone, then checks every result reached result.json, and prints one
JSON line: ``{"run_s": ..., "results": ...}``. W3's figure is this whole process, start to exit, as the
harness measures it. The executor is ``local`` unless named: with ``ray`` (the tune-ray plugin) a local
Ray is started before the timed call and shut down after it, as ``ray_tune_child.py`` does for Ray Tune,
so both pay the same; in W3 the executor starts and stops its own, as a user's first run would. Usage::

    python benchmarks/tune_child.py W1 LOCAL_DIR [local|ray]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workloads import CPUS, RAY_INIT, WORKLOADS, Workload

import tune_core as tune


def make_trainable(results: int, sleep: float) -> Callable[[dict[str, Any], Callable[..., Any]], None]:
    """A function trainable reporting ``results`` times in a tight loop (or after ``sleep`` each)."""

    def trainable(config: dict[str, Any], reporter: Callable[..., Any]) -> None:
        for i in range(1, results + 1):
            if sleep:
                time.sleep(sleep)
            reporter(mean_accuracy=i, timesteps_total=i)

    return trainable


def run(workload: Workload, local_dir: Path, executor: str = "local",
        executor_config: dict[str, Any] | None = None) -> dict[str, float]:
    """Run ``workload`` with FIFO and default loggers on 2 CPUs; return run seconds and results logged."""
    experiments = {
        workload.id: {
            "run": make_trainable(workload.results, workload.sleep),
            "config": {"i": tune.grid_search(list(range(workload.trials)))},
            "resources": {"cpu": 1},
            "local_dir": str(local_dir),
        }
    }
    started = time.perf_counter()
    tune.run_experiments(
        experiments,
        scheduler="fifo",
        executor=executor,
        executor_config=executor_config or {"num_cpus": CPUS, "num_gpus": 0},
        verbose=0,
    )
    run_s = time.perf_counter() - started
    logged = sum(
        sum(1 for line in path.open() if line.strip())
        for path in (local_dir / workload.id).glob("*/result.json")
    )
    return {"run_s": run_s, "results": logged}


def run_on_ray(workload: Workload, local_dir: Path) -> dict[str, float]:
    """``run`` with the Ray executor on a local Ray started outside the timed call (W3: by the executor)."""
    import os

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if workload.id == "W3":  # the executor starts the same Ray as RAY_INIT, in the timed process
        return run(workload, local_dir, "ray", {"num_cpus": CPUS, "num_gpus": 0, "init_kwargs": {"address": "local"}})
    ray.init(**RAY_INIT)
    try:
        return run(workload, local_dir, "ray")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    chosen, where = WORKLOADS[sys.argv[1]], Path(sys.argv[2])
    executor = sys.argv[3] if len(sys.argv) > 3 else "local"
    print(json.dumps(run_on_ray(chosen, where) if executor == "ray" else run(chosen, where, executor)))
