"""W1-W4 as BENCHMARKS.md defines them, shared by the floor, the tune-core child and the harness.

All four: a function trainable, 1 CPU per trial on 2 CPUs (2 trials at once), FIFO, default loggers on,
N trials from a grid over an integer. Kept import-light: W3 times interpreter start to exit.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CPUS", "RAY_INIT", "WORKLOADS", "Workload"]

#: CPUs the executor (and the floor) may use; one per trial, so two trials run at once.
CPUS = 2


class Workload(NamedTuple):
    """``trials`` x ``results`` reports, sleeping ``sleep`` seconds before each report."""

    id: str
    trials: int
    results: int
    sleep: float
    figure: str

    @property
    def total_results(self) -> int:
        return self.trials * self.results


WORKLOADS: dict[str, Workload] = {
    "W1": Workload("W1", trials=20, results=500, sleep=0.0, figure="results/s over the run"),
    "W2": Workload("W2", trials=500, results=1, sleep=0.0, figure="trials/s over the run"),
    "W3": Workload("W3", trials=1, results=1, sleep=0.0, figure="process seconds"),
    "W4": Workload("W4", trials=16, results=20, sleep=0.05, figure="efficiency = 8.0 s / run"),
}

#: W4's ideal run time: 16 trials x 20 results x 0.05 s on 2 CPUs.
W4_IDEAL_S = 16 * 20 * 0.05 / CPUS

#: ``ray.init`` for both Ray systems (tune-ray and Ray Tune): a new local Ray of 2 CPUs, so 2 trials at
#: once; ``address="local"``, since without it ``ray.init`` joins any Ray already running on the machine.
RAY_INIT = {"address": "local", "num_cpus": CPUS, "num_gpus": 0, "include_dashboard": False}
