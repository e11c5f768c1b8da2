"""Schedulers that pause trials and restart them from other trials' checkpoints, on Ray, unchanged,
with checkpoints that travel as bytes through the object store (``shared_storage=False``: as if no
node shared the driver's disk, so every pause, resume and exploit goes the way a cluster's does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ray_trainables import Climber, climber
from tune_hyperband import HyperBandScheduler
from tune_pbt import LOG_NAME, PopulationBasedTraining, Segment, replay

import tune_core as tune
from tune_core.interfaces import TERMINATED

NO_SHARED_DISK = {"shared_storage": False}


def _lines(trial: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]


def test_hyperband_pauses_and_resumes_trials_from_checkpoints_sent_as_bytes(ray_session: Any, local_dir: Path) -> None:
    hyperband = HyperBandScheduler(time_attr="training_iteration", metric="score", mode="max", max_t=9,
                                   reduction_factor=3)
    steps = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    trials = tune.run_experiments(
        {"hb": {"run": Climber, "config": {"step": tune.grid_search(steps)}, "local_dir": str(local_dir),
                "stop": {"training_iteration": 9}}},
        scheduler=hyperband, executor="ray", executor_config=NO_SHARED_DISK, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * len(steps)
    resumed = 0
    for trial in trials:
        lines = _lines(trial)
        iterations = [r["training_iteration"] for r in lines]
        assert iterations == list(range(1, len(lines) + 1)), (trial.name, iterations)
        # A resumed trial continues its own value: value = step * iteration, checkpoint or not.
        assert all(r["value"] == pytest.approx(trial.config["step"] * r["training_iteration"]) for r in lines)
        resumed += max(r["resumed"] for r in lines) > 0
        assert not list(Path(trial.logdir).glob(".restore_*"))  # Nothing unpacked into the driver's dirs.
    assert resumed, "HyperBand paused no trial that went on later"
    assert max(len(_lines(t)) for t in trials) == 9


def _explained(exp_dir: Path, trial: Any, iterations: int) -> None:
    """The trial's last run starts right after the checkpoint it was last exploited from, and each of
    its values is the sum of the steps along its lineage (the donor's value, continued)."""
    records = [json.loads(line) for line in (exp_dir / LOG_NAME).read_text().splitlines()]
    mine = [r for r in records if r["event"] == "exploit" and r["trial_id"] == trial.trial_id]
    schedule = replay(exp_dir, trial.trial_id) if mine else [Segment(0, 0, trial.config)]
    start = mine[-1]["from_iteration"] if mine else 0
    lines = _lines(trial)
    assert [r["training_iteration"] for r in lines if r["training_iteration"] > start] == list(
        range(start + 1, iterations + 1)), trial.name

    def step_at(i: int) -> float:
        return [s for s in schedule if s.iteration < i][-1].config["step"]

    for line in lines:
        i = line["training_iteration"]
        if i > start:
            assert line["value"] == pytest.approx(sum(step_at(j) for j in range(1, i + 1))), (trial.name, i)


@pytest.mark.parametrize("trainable", [Climber, climber], ids=["class", "function"])
def test_pbt_exploits_other_trials_checkpoints_sent_as_bytes(ray_session: Any, local_dir: Path, trainable: Any) -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=3, seed=0,
                                  hyperparam_mutations={"step": [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]})
    trials = tune.run_experiments(
        {"pbt": {"run": trainable, "config": {"step": tune.grid_search([0.1, 0.2, 0.5, 1.0]), "sleep": 0.1},
                 "local_dir": str(local_dir), "stop": {"training_iteration": 12}}},
        scheduler=pbt, executor="ray", executor_config=NO_SHARED_DISK, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 4
    records = [json.loads(line) for line in (local_dir / "pbt" / LOG_NAME).read_text().splitlines()]
    assert any(r["event"] == "exploit" for r in records), "no trial was exploited"
    for trial in trials:
        _explained(local_dir / "pbt", trial, 12)
