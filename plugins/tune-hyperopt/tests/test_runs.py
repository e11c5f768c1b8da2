"""End-to-end runs: HyperOpt with ASHA stopping trials early, the seed's HyperOptScheduler form, and
the searcher chosen by name from Python, from a YAML spec file and from the seed's CLI spelling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hyperopt import hp
from hyperopt_runs import run_trials
from hyperopt_trainables import curve, quadratic, reward
from tune_hyperopt import HyperOptScheduler, HyperOptSearch
from tune_hyperopt.scheduler import SpaceKeyGenerator

import tune_core as tune
from tune_core import TuneError

HERE = Path(__file__).resolve().parent


def test_hyperopt_with_asha_stops_some_trials_early(local_dir: Path) -> None:
    trials = run_trials(local_dir, curve, {"x": tune.uniform(0, 1)}, 16, num_cpus=2, metric="score", mode="max",
                        search_alg=HyperOptSearch(n_initial_points=5, random_state_seed=0), scheduler="asha",
                        scheduler_config={"max_t": 20, "grace_period": 2, "reduction_factor": 3, "brackets": 1})
    assert [t.status for t in trials] == ["TERMINATED"] * 16
    iterations = [t.last_result["training_iteration"] for t in trials]
    assert min(iterations) < 20 and max(iterations) == 20, iterations
    best = max(trials, key=lambda t: t.last_result["score"])
    assert abs(best.config["x"] - 0.7) < 0.15 and best.last_result["training_iteration"] == 20


def test_the_seeds_form_runs_repeat_trials_of_the_space_key(local_dir: Path) -> None:
    experiments = {"exp": {"run": reward, "repeat": 8, "local_dir": str(local_dir),
                           "config": {"space": {"x": hp.uniform("x", -5, 5)}, "other": 1}}}
    scheduler = HyperOptScheduler(reward_attr="neg_loss")
    trials = tune.run_experiments(experiments, scheduler=scheduler, verbose=0)
    assert len(trials) == 8 and {t.status for t in trials} == {"TERMINATED"}
    for trial in trials:
        assert set(trial.config) == {"x", "other"} and trial.config["other"] == 1
        assert -5 <= trial.config["x"] <= 5
    assert len({t.config["x"] for t in trials}) == 8


def test_the_seeds_scheduler_brings_a_limited_search_that_maximises_the_reward() -> None:
    search = HyperOptScheduler(max_concurrent=2, reward_attr="neg_loss").search_alg()
    assert isinstance(search, SpaceKeyGenerator)
    assert search.hyperopt.metric == "neg_loss" and search.hyperopt.mode == "max"
    assert type(search.searcher).__name__ == "ConcurrencyLimiter" and search.searcher.max_concurrent == 2
    assert type(HyperOptScheduler().search_alg().searcher) is HyperOptSearch


def test_the_seeds_form_without_a_space_key_says_where_it_goes(local_dir: Path) -> None:
    with pytest.raises(TuneError, match=r"no hyperopt space in config\['space'\]"):
        tune.run_experiments({"exp": {"run": reward, "repeat": 2, "local_dir": str(local_dir),
                                      "config": {"x": 1}}}, scheduler=HyperOptScheduler(), verbose=0)


def test_the_seeds_scheduler_name_and_the_searcher_name_resolve(local_dir: Path) -> None:
    trials = tune.run_experiments(
        {"exp": {"run": reward, "repeat": 4, "local_dir": str(local_dir),
                 "config": {"space": {"x": hp.quniform("x", 0, 4, 1)}}}},
        scheduler="HyperOpt", scheduler_config={"reward_attr": "neg_loss"}, verbose=0)
    assert len(trials) == 4 and all(t.config["x"] in (0.0, 1.0, 2.0, 3.0, 4.0) for t in trials)
    analysis = tune.run(quadratic, config={"x": tune.uniform(-3, 3)}, num_samples=5, metric="loss", mode="min",
                        search_alg="hyperopt", search_alg_config={"n_initial_points": 2, "random_state_seed": 1},
                        local_dir=str(local_dir), name="by-name", verbose=0)
    assert len(analysis.trial_ids) == 5 and -3 <= analysis.best_config["x"] <= 3


def tune_core_command() -> list[str]:
    script = Path(sys.executable).with_name("tune-core")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]


def test_a_yaml_spec_file_picks_hyperopt_by_name(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
experiments:
  bowl:
    run: hyperopt_trainables:quadratic
    num_samples: 6
    local_dir: {tmp_path / 'results'}
    config:
      y: -2
search_alg: hyperopt
search_alg_config:
  random_state_seed: 0
  n_initial_points: 3
  space:
    x: {{uniform: [-3, 3]}}
metric: loss
mode: min
""")
    out = subprocess.run([*tune_core_command(), "run", str(spec), "-v", "0"], capture_output=True, text=True,
                         timeout=120, cwd=HERE)
    assert out.returncode == 0, out.stderr
    assert "6 of 6 trials completed" in out.stdout
    best = json.loads(out.stdout.split("Best config: ", 1)[1].splitlines()[0])
    assert set(best) == {"x", "y"} and best["y"] == -2 and -3 <= best["x"] <= 3
