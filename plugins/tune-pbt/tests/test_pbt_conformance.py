"""tune-core's scheduler conformance kit: PBT through simulated experiments (decisions, actions on
trials, determinism for a seed, save/restore), asynchronous and synchronous."""

from __future__ import annotations

from typing import Any

import pytest
from tune_pbt import PopulationBasedTraining

import tune_core as tune
from tune_core.testing import assert_scheduler_conforms

SIZE = {"seed": 0, "num_trials": 20, "workers": 4, "max_t": 24}


def _factory(synch: bool) -> Any:
    def make() -> PopulationBasedTraining:
        return PopulationBasedTraining(
            time_attr="training_iteration", perturbation_interval=4, seed=0, synch=synch,
            hyperparam_mutations={"lr": tune.loguniform(1e-4, 1e-1), "momentum": [0.8, 0.9, 0.99]})

    return make


@pytest.mark.parametrize("synch", [False, True], ids=["async", "synch"])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_pbt_conforms(synch: bool, mode: str) -> None:
    assert_scheduler_conforms(_factory(synch), metric="score", mode=mode, **SIZE)
