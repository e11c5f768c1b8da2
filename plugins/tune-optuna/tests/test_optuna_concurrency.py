"""Trials running together: TPE's constant liar keeps concurrent suggestions apart; HyperBand pauses
and stops Optuna's trials and the run finishes."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
from optuna.trial import TrialState
from optuna_trainables import curve, slow_quadratic
from tune_optuna import OptunaSearch

import tune_core as tune

SPACE = {"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10), "sleep": 0.03}


def closest_concurrent(study: optuna.Study, startup: int) -> float:
    """The smallest distance between a trial asked after the random start-up and a trial that was
    still running when it was asked (start/complete times are the study's own ask/tell times)."""
    trials = study.trials
    gaps = [math.dist((t.params["x"], t.params["y"]), (o.params["x"], o.params["y"]))
            for t in trials[startup + 1:] for o in trials[:t.number]
            if o.datetime_complete is not None and o.datetime_complete > t.datetime_start]
    assert len(gaps) > 15, "trials ran two at a time"
    return min(gaps)


def run_two_at_a_time(liar: bool, seed: int, local_dir: Path) -> optuna.Study:
    searcher = OptunaSearch(seed=seed, sampler_config={"constant_liar": liar, "n_startup_trials": 5})
    trials = tune.run_experiments({"c": {"run": slow_quadratic, "config": SPACE, "num_samples": 40,
                                         "local_dir": str(local_dir / f"{liar}-{seed}")}},
                                  metric="loss", mode="min", search_alg=searcher, verbose=0,
                                  executor_config={"num_cpus": 2})
    assert [t.status for t in trials] == ["TERMINATED"] * 40
    return searcher.study


def test_constant_liar_keeps_concurrent_trials_apart(local_dir: Path) -> None:
    # The default TPE lies: a running trial counts as a bad result, so the next suggestion avoids it.
    with_liar = [closest_concurrent(run_two_at_a_time(True, seed, local_dir), 5) for seed in (0, 1)]
    # Without it, TPE proposes near-copies of the best config for trials that run together.
    without = [closest_concurrent(run_two_at_a_time(False, seed, local_dir), 5) for seed in (0, 1)]
    assert min(with_liar) > 1.0 > min(without), (with_liar, without)


def test_with_hyperband_two_at_a_time(local_dir: Path) -> None:
    searcher = OptunaSearch(seed=0)
    trials = tune.run_experiments(
        {"hb": {"run": curve, "config": {**SPACE, "steps": 9, "sleep": 0.01}, "num_samples": 12,
                "local_dir": str(local_dir)}},
        metric="loss", mode="min", search_alg=searcher, scheduler="hyperband", scheduler_config={"max_t": 9},
        executor_config={"num_cpus": 2}, verbose=0)
    assert [t.status for t in trials] == ["TERMINATED"] * 12
    iterations = sorted(t.last_result["training_iteration"] for t in trials)
    assert iterations[0] < 9 and iterations[-1] == 9, iterations  # some stopped early, some ran to max_t
    states = [t.state for t in searcher.study.trials]
    assert len(states) == 12 and TrialState.RUNNING not in states
    # A trial HyperBand stopped is PRUNED (so TPE ranks it by how far it got); its curve is in the
    # intermediate values, once per step, and its value is that of its last step.
    for trial, frozen in zip(sorted(trials, key=lambda t: t.config["x"]),
                             sorted(searcher.study.trials, key=lambda t: t.params["x"]), strict=True):
        steps = trial.last_result["training_iteration"]
        assert frozen.state == (TrialState.COMPLETE if trial.last_result.get("done") else TrialState.PRUNED)
        assert sorted(frozen.intermediate_values) == list(range(1, steps + 1))
        assert frozen.intermediate_values[steps] == trial.last_result["loss"]
        if frozen.state == TrialState.COMPLETE:
            assert frozen.value == trial.last_result["loss"]
    assert TrialState.PRUNED in states


def test_a_trial_that_ends_by_its_stop_criterion_is_complete(local_dir: Path) -> None:
    searcher = OptunaSearch(seed=0)
    trials = tune.run_experiments(
        {"asha": {"run": curve, "config": {**SPACE, "steps": 9, "sleep": 0.0}, "num_samples": 10,
                  "stop": {"training_iteration": 9}, "local_dir": str(local_dir)}},
        metric="loss", mode="min", search_alg=searcher, scheduler="asha",
        scheduler_config={"max_t": 9, "grace_period": 1, "reduction_factor": 3}, verbose=0)
    by_x = {t.params["x"]: t.state for t in searcher.study.trials}
    for trial in trials:
        reached = trial.last_result["training_iteration"]
        assert by_x[trial.config["x"]] == (TrialState.COMPLETE if reached == 9 else TrialState.PRUNED), reached
    assert TrialState.COMPLETE in by_x.values() and TrialState.PRUNED in by_x.values()
