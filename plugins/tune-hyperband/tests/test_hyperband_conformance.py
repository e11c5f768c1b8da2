"""tune-core's scheduler conformance kit: simulated trials through the real runner, every call
checked (valid decisions, no starvation, the same decisions after save/restore and with the same
seed), with failures, retries, checkpoints and trials that do not fill the workers exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tune_hyperband import AsyncHyperBandScheduler, HyperBandScheduler

from tune_core.interfaces import TrialScheduler
from tune_core.testing import check_scheduler

CASES: dict[str, tuple[Callable[[], TrialScheduler] | str, dict[str, Any]]] = {
    "hyperband": (lambda: HyperBandScheduler(max_t=27), {"num_trials": 200, "workers": 8, "max_t": 27}),
    "hyperband-min-eta-2-cpu-2": (lambda: HyperBandScheduler(max_t=30, reduction_factor=2),
                                  {"mode": "min", "seed": 1, "num_trials": 120, "workers": 3, "max_t": 30,
                                   "resources": {"cpu": 2}, "checkpoint_freq": 4}),
    "asha": (lambda: AsyncHyperBandScheduler(max_t=27, grace_period=1, reduction_factor=3, brackets=1),
             {"num_trials": 200, "workers": 8, "max_t": 27}),
    "asha-by-name": ("asha", {"seed": 2, "num_trials": 150, "workers": 4, "max_t": 100, "failure_rate": 0.05}),
}

@pytest.mark.parametrize("name", CASES)
def test_conforms(name: str) -> None:
    factory, settings = CASES[name]
    report = check_scheduler(factory, **settings)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    assert report.runs == 3
