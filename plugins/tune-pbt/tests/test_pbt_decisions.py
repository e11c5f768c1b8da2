"""PBT's decisions result by result, through a runner view built from the public interfaces only.

The exact cases come from the issue: 5 trials reporting (10, 50*i), then trial 0 reporting (20, -100).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pbt_fake_runner import FakeRunner, FakeTrial, result
from tune_pbt import PopulationBasedTraining

import tune_core as tune
from tune_core.interfaces import CONTINUE, PAUSE, PAUSED, PENDING, RUNNING, DecisionPoint

MUTATIONS: dict[str, Any] = {"id_factor": [100], "float_factor": lambda: 100.0, "int_factor": lambda: 10}


def _population(resample_probability: float, seed: int, **kwargs: Any) -> tuple[Any, FakeRunner, list[FakeTrial]]:
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=10, hyperparam_mutations=MUTATIONS,
                                  resample_probability=resample_probability, seed=seed, log_config=False,
                                  **kwargs)
    trials = [FakeTrial(i, {"id_factor": i, "float_factor": 2.0, "const_factor": 3, "int_factor": 10})
              for i in range(5)]
    runner = FakeRunner(trials)
    for trial in trials:
        pbt.on_trial_add(runner, trial)
    decisions = [pbt.on_trial_result(runner, t, result(t, 10, 50 * i)) for i, t in enumerate(trials)]
    assert decisions == [CONTINUE] * 5
    assert not runner.restarts
    return pbt, runner, trials


@pytest.mark.parametrize("seed", range(12))
def test_exploit_perturbs_a_top_trials_config(seed: int) -> None:
    pbt, runner, trials = _population(resample_probability=0.0, seed=seed)
    # Each trial that ranked top when it reported was asked for a checkpoint (trial 0 was alone).
    assert runner.saved == [t.trial_id for t in trials[1:]]
    pbt.on_trial_result(runner, trials[0], result(trials[0], 20, -100))
    ((trial, donor, config, tag),) = runner.restarts
    assert trial is trials[0] and donor in (trials[3], trials[4])
    assert config["id_factor"] == 100
    assert config["float_factor"] in (pytest.approx(2.4), pytest.approx(1.6))
    assert config["int_factor"] in (8, 12) and type(config["int_factor"]) is int
    assert config["const_factor"] == 3
    assert tag == f"0@perturbed[float_factor={config['float_factor']:.5g},id_factor=100,int_factor={config['int_factor']}]"
    assert pbt.debug_string() == "PopulationBasedTraining: 4 checkpoints, 1 perturbs"
    # It continues from the donor's checkpoint at 10: next perturbation at 20.
    assert pbt.decision_point(trial) == DecisionPoint("training_iteration", 20)


@pytest.mark.parametrize("seed", range(6))
def test_exploit_with_resample_probability_one_resamples_everything(seed: int) -> None:
    pbt, runner, trials = _population(resample_probability=1.0, seed=seed)
    pbt.on_trial_result(runner, trials[0], result(trials[0], 20, -100))
    ((_, donor, config, _),) = runner.restarts
    assert donor in (trials[3], trials[4])
    assert (config["id_factor"], config["float_factor"], config["int_factor"], config["const_factor"]) == (
        100, 100.0, 10, 3)


def test_no_perturbation_between_points_and_none_for_a_top_trial() -> None:
    pbt, runner, trials = _population(resample_probability=0.0, seed=0)
    assert pbt.on_trial_result(runner, trials[0], result(trials[0], 15, -100)) == CONTINUE
    assert pbt.on_trial_result(runner, trials[4], result(trials[4], 20, 1000)) == CONTINUE
    assert not runner.restarts
    assert pbt.decision_point(trials[4]) == DecisionPoint("training_iteration", 30)


def test_the_seeds_reward_attr_and_mode_min() -> None:
    seeded = PopulationBasedTraining(time_attr="training_iteration", reward_attr="score", perturbation_interval=10,
                                     hyperparam_mutations=MUTATIONS)
    assert (seeded.metric, seeded.mode) == ("score", "max")
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="loss", mode="min",
                                  perturbation_interval=10, hyperparam_mutations={"int_factor": [8, 10, 12]},
                                  seed=1, log_config=False)
    trials = [FakeTrial(i, {"int_factor": 10}) for i in range(4)]
    runner = FakeRunner(trials)
    for i, trial in enumerate(trials):
        trial.iteration = 10
        pbt.on_trial_result(runner, trial, {"training_iteration": 10, "loss": float(i)})
    # Each later trial had a higher loss than trial 0 and ranked bottom as it reported: trial 1 asked
    # trial 0 for a checkpoint (it had none yet), trials 2 and 3 were exploited from it.
    assert [(t, d) for t, d, _, _ in runner.restarts] == [(trials[i], trials[0]) for i in (2, 3)]
    assert all(config["int_factor"] in (8, 12) for _, _, config, _ in runner.restarts)


def test_a_donor_without_checkpoint_is_asked_for_one_and_the_exploit_skipped() -> None:
    pbt, runner, trials = _population(resample_probability=0.0, seed=3)
    for trial in trials:
        trial.checkpoint = None
    runner.saved.clear()
    pbt.on_trial_result(runner, trials[0], result(trials[0], 20, -100))
    assert not runner.restarts
    assert len(runner.saved) == 1 and runner.saved[0] in (trials[3].trial_id, trials[4].trial_id)
    # The next interval exploits the donor's checkpoint.
    pbt.on_trial_result(runner, trials[0], result(trials[0], 30, -100))
    assert len(runner.restarts) == 1


def test_time_multiplexing_pauses_for_a_trial_behind_and_runs_the_furthest_behind() -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=5, hyperparam_mutations={"lr": [1, 2, 3]},
                                  log_config=False, seed=0)
    trials = [FakeTrial(i, {"lr": 2}, status=RUNNING if i < 2 else PENDING) for i in range(4)]
    runner = FakeRunner(trials)
    for trial in trials:
        pbt.on_trial_add(runner, trial)
    # Trial 0 reaches its point while trials 2 and 3 have not started: it pauses for them.
    assert pbt.on_trial_result(runner, trials[0], result(trials[0], 5, 1.0)) == PAUSE
    trials[0].status = PAUSED
    assert pbt.choose_trial_to_run(runner) is trials[2]
    trials[2].status = RUNNING
    assert pbt.choose_trial_to_run(runner) is trials[3]
    trials[3].status = RUNNING
    # Trial 1 at 5: the only waiting trial (0) is not behind it, so it goes on.
    assert pbt.on_trial_result(runner, trials[1], result(trials[1], 5, 2.0)) == CONTINUE
    assert pbt.choose_trial_to_run(runner) is trials[0]
    runner.free_slots = 0
    assert pbt.choose_trial_to_run(runner) is None


@pytest.mark.parametrize("failed", [0, 1], ids=["heard-from-longest-ago", "heard-from-last"])
def test_a_trial_waiting_again_after_a_failure_is_started_again(failed: int) -> None:
    # The runner puts a failed trial it retries back to PENDING without telling the scheduler.
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=5, hyperparam_mutations={"lr": [1, 2, 3]},
                                  log_config=False, seed=0)
    trials = [FakeTrial(i, {"lr": 2}, status=PENDING) for i in range(3)]
    runner = FakeRunner(trials)
    for trial in trials:
        pbt.on_trial_add(runner, trial)
    for trial in trials[:2]:
        assert pbt.choose_trial_to_run(runner) is trial
        trial.status = RUNNING
    for trial in trials[:2]:
        assert pbt.on_trial_result(runner, trial, result(trial, 1, 1.0)) == CONTINUE
    trials[failed].status = PENDING
    other = trials[1 - failed]
    # The other running trial reports again: the failed one is the trial heard from longest ago.
    assert pbt.on_trial_result(runner, other, result(other, 2, 1.0)) == CONTINUE
    # Trial 2 (never started) and the failed one are equally far behind: the earlier added goes first.
    assert pbt.choose_trial_to_run(runner) is trials[failed]
    trials[failed].status = RUNNING
    assert pbt.choose_trial_to_run(runner) is trials[2]
    trials[2].status = RUNNING
    # With nothing else waiting, a trial back to PENDING is found whenever the runner asks.
    trials[1 - failed].status = PENDING
    assert pbt.choose_trial_to_run(runner) is trials[1 - failed]


def test_a_large_population_ranks_by_score_then_by_order_added() -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=10, hyperparam_mutations={"lr": [1, 2, 3]},
                                  quantile_fraction=0.1, log_config=False, seed=0)
    trials = [FakeTrial(i, {"lr": 2}) for i in range(100)]
    runner = FakeRunner(trials)
    for trial in trials:
        pbt.on_trial_add(runner, trial)
    for i, trial in enumerate(trials):  # Ties in pairs: 0 and 1 score 0, 2 and 3 score 1, ...
        pbt.on_trial_result(runner, trial, result(trial, 10, float(i // 2)))
    lower, upper = pbt._quantiles(runner)
    assert lower == trials[:10] and upper == trials[-10:]
    trials[5].status = "TERMINATED"
    pbt.on_trial_complete(runner, trials[5], None)
    lower, upper = pbt._quantiles(runner)
    assert lower == [*trials[:5], *trials[6:11]] and upper == trials[-10:]


def test_save_and_restore_keep_the_population() -> None:
    pbt, runner, trials = _population(resample_probability=0.0, seed=5)
    state = pbt.save()
    import pickle

    again = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                    perturbation_interval=10, hyperparam_mutations=MUTATIONS,
                                    resample_probability=0.0, log_config=False)
    again.restore(pickle.loads(pickle.dumps(state)))
    for trial in trials:
        again.on_trial_add(runner, trial)  # As a resumed run does: must not reset the state.
        assert again.decision_point(trial) == DecisionPoint("training_iteration", 20)
    pbt.on_trial_result(runner, trials[0], result(trials[0], 20, -100))
    runner2 = FakeRunner(trials)
    again.on_trial_result(runner2, trials[0], result(trials[0], 20, -100))
    assert runner.restarts[0][2] == runner2.restarts[0][2]  # Same random stream: same exploit.
    assert runner.restarts[0][1] is runner2.restarts[0][1]


def test_burn_in_period_delays_the_first_perturbation() -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=5, burn_in_period=12,
                                  hyperparam_mutations={"lr": [1, 2]}, metric="score", mode="max")
    trial = FakeTrial(0, {"lr": 1})
    assert pbt.decision_point(trial) == DecisionPoint("training_iteration", 12)


BAD = [
    ({"hyperparam_mutations": {}}, r"give `hyperparam_mutations`.*or `custom_explore_fn`"),
    ({"hyperparam_mutations": {"lr": []}}, r"`hyperparam_mutations\['lr'\]` is an empty list"),
    ({"hyperparam_mutations": {"lr": 0.1}}, r"`hyperparam_mutations\['lr'\]` must be a list of values"),
    ({"hyperparam_mutations": [1, 2]}, r"`hyperparam_mutations` must be a dict"),
    ({"perturbation_interval": 0}, r"`perturbation_interval` must be a number > 0, got 0"),
    ({"perturbation_interval": "ten"}, r"`perturbation_interval` must be a number"),
    ({"quantile_fraction": 0.6}, r"`quantile_fraction` must be a number >= 0 and <= 0.5, got 0.6"),
    ({"resample_probability": -0.1}, r"`resample_probability` must be a number >= 0 and <= 1"),
    ({"perturbation_factors": 1.2}, r"`perturbation_factors` must be a non-empty list"),
    ({"perturbation_factors": (1.2, "x")}, r"`perturbation_factors` must be a number"),
    ({"mode": "maximum"}, r"`mode` must be one of None, 'min', 'max', got 'maximum'"),
    ({"metric": "a", "reward_attr": "b"}, r"pass `metric` \(with `mode`\) or `reward_attr`, not both"),
    ({"custom_explore_fn": "f"}, r"`custom_explore_fn` must be a function"),
    ({"seed": 1.5}, r"`seed` must be an integer"),
    ({"log_config": "yes"}, r"`log_config` must be true or false"),
    ({"burn_in_period": -1}, r"`burn_in_period` must be a number >= 0"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_options_are_refused_naming_the_option(kwargs: dict[str, Any], message: str) -> None:
    kwargs = {"hyperparam_mutations": {"lr": [1, 2]}, **kwargs}
    with pytest.raises(tune.TuneError, match=r"PopulationBasedTraining: .*" + message):
        PopulationBasedTraining(**kwargs)


def test_distributions_and_nested_mutations_explore() -> None:
    import random

    from tune_pbt import explore

    mutations = {"lr": tune.uniform(0.0, 1.0), "opt": {"momentum": tune.choice([0.8, 0.9, 0.99])},
                 "layers": tune.randint(1, 5)}
    from tune_pbt.explore import check_mutations

    checked = check_mutations(mutations)
    config = {"lr": 0.5, "opt": {"momentum": 0.9}, "layers": 3}
    new = explore(config, checked, rng=random.Random(0), resample_probability=0.0)
    assert new["lr"] in (pytest.approx(0.6), pytest.approx(0.4))
    assert new["opt"]["momentum"] in (0.8, 0.99)
    assert new["layers"] in (3, 2)  # int(3 * 1.2) == 3, int(3 * 0.8) == 2
    assert config == {"lr": 0.5, "opt": {"momentum": 0.9}, "layers": 3}  # The original is untouched.
    resampled = explore(config, checked, rng=random.Random(0), resample_probability=1.0)
    assert 0.0 <= resampled["lr"] <= 1.0 and 1 <= resampled["layers"] < 5
    custom = explore(config, checked, rng=random.Random(0), custom_explore_fn=lambda c: {**c, "lr": 7})
    assert custom["lr"] == 7
    with pytest.raises(tune.TuneError, match="custom_explore_fn returned 3"):
        explore(config, checked, rng=random.Random(0), custom_explore_fn=lambda c: 3)


def test_synch_waits_for_everyone_then_perturbs_the_round() -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                  perturbation_interval=5, hyperparam_mutations={"lr": [1, 2, 3]},
                                  quantile_fraction=0.34, log_config=False, seed=0, synch=True)
    trials = [FakeTrial(i, {"lr": 2}) for i in range(3)]
    runner = FakeRunner(trials)
    for trial in trials:
        pbt.on_trial_add(runner, trial)
        assert pbt.decision_point(trial) == DecisionPoint("training_iteration", 5)
    for i in (0, 1):  # Both wait, checkpointed by the pause, for trial 2.
        assert pbt.on_trial_result(runner, trials[i], result(trials[i], 5, float(i))) == PAUSE
        trials[i].status = PAUSED
    assert pbt.choose_trial_to_run(runner) is None and not runner.restarts
    assert pbt.on_trial_result(runner, trials[2], result(trials[2], 6, 2.0)) == PAUSE  # Past 5 counts too.
    trials[2].status = PAUSED
    for trial in trials:  # Each pause checkpointed its trial where it was.
        trial.checkpoint = SimpleNamespace(iteration=trial.iteration)
    chosen = pbt.choose_trial_to_run(runner)  # The round: the worst (0) exploits the best (2).
    ((exploited, donor, _, tag),) = runner.restarts
    assert (exploited, donor) == (trials[0], trials[2]) and tag.startswith("0@perturbed[lr=")
    assert chosen is not None and chosen.status == PAUSED
    for trial in trials:  # The next point is common to all: 10.
        assert pbt.decision_point(trial) == DecisionPoint("training_iteration", 10)
