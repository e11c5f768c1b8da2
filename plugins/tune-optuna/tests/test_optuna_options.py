"""Options checked where they are given, samplers, points_to_evaluate, failed trials and a metric the
trials never report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from optuna_trainables import quadratic
from tune_optuna import OptunaSearch

import tune_core as tune
from tune_core import TuneError

SPACE = {"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10)}


def run(searcher: OptunaSearch, local_dir: Path, trainable: Any = quadratic, config: Any = None,
        num_samples: int = 6, **kwargs: Any) -> list[Any]:
    return tune.run_experiments({"opts": {"run": trainable, "config": SPACE if config is None else config,
                                          "num_samples": num_samples, "local_dir": str(local_dir)}},
                                metric="loss", mode="min", search_alg=searcher, verbose=0, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "minimize"}, "OptunaSearch: `mode` must be one of 'min', 'max', got 'minimize'"),
    ({"sampler": "tpee"}, "OptunaSearch: `sampler` must be one of 'tpe', 'cmaes', 'gp', 'random', got 'tpee' "
                          "(did you mean 'tpe'?)"),
    ({"sampler": 3}, "`sampler` must be an optuna sampler or one of 'tpe', 'cmaes', 'gp', 'random', got 3"),
    ({"sampler": optuna.samplers.RandomSampler(), "seed": 1}, "give them to RandomSampler(...) itself"),
    ({"seed": "one"}, "OptunaSearch: `seed` must be an integer >= 0, got 'one' (str)"),
    ({"max_concurrent": 0}, "OptunaSearch: `max_concurrent` must be an integer >= 1, got 0 (int)"),
    ({"sampler_config": {"n_startup": 3}}, "cannot build optuna.samplers.TPESampler from "
                                           "sampler_config={'n_startup': 3}"),
    ({"points_to_evaluate": {"x": 1}}, "`points_to_evaluate` must be a list of config dicts"),
])
def test_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TuneError) as info:
        OptunaSearch(**kwargs)
    assert message in str(info.value)


def test_metric_and_mode_are_needed(local_dir: Path) -> None:
    with pytest.raises(TuneError, match=r"OptunaSearch needs a metric and a mode \(got metric='loss', mode=None\)"):
        tune.run(quadratic, config=SPACE, metric="loss", search_alg=OptunaSearch(), local_dir=str(local_dir),
                 verbose=0)


def test_mode_max_maximises(local_dir: Path) -> None:
    searcher = OptunaSearch(seed=0, max_concurrent=1, metric="score", mode="max")

    def score(config: dict[str, Any], reporter: Any) -> None:
        reporter(score=-abs(config["x"] - 3), done=True)

    tune.run(score, config={"x": tune.uniform(-10, 10)}, num_samples=30, search_alg=searcher,
             local_dir=str(local_dir), verbose=0)
    assert searcher.study.direction.name == "MAXIMIZE"
    assert abs(searcher.study.best_params["x"] - 3) < 0.3


def test_gp_sampler_runs(local_dir: Path) -> None:
    # The tune-optuna nox session installs torch (CPU) and scipy for this test.
    searcher = OptunaSearch(sampler="gp", seed=0, sampler_config={"n_startup_trials": 5})
    trials = run(searcher, local_dir, num_samples=14)
    assert [t.status for t in trials] == ["TERMINATED"] * 14
    assert isinstance(searcher.study.sampler, optuna.samplers.GPSampler)
    values = [t.value for t in searcher.study.trials]
    assert min(values[5:]) < min(values[:5])  # the model improves on its random start


def test_gp_sampler_without_torch_says_what_to_install() -> None:
    # A fresh interpreter in which torch cannot be found, as on a machine without it.
    script = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'torch' else real(name, *a)\n"
        "from tune_optuna import OptunaSearch\n"
        "from tune_core import TuneError\n"
        "try:\n"
        "    OptunaSearch(sampler='gp')\n"
        "except TuneError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "OptunaSearch: sampler 'gp' needs torch: pip install torch", out.stderr


def test_cmaes_runs(local_dir: Path) -> None:
    searcher = OptunaSearch(sampler="cmaes", seed=0, max_concurrent=1)
    trials = run(searcher, local_dir, num_samples=30)
    assert [t.status for t in trials] == ["TERMINATED"] * 30
    assert isinstance(searcher.study.sampler, optuna.samplers.CmaEsSampler)
    assert searcher.study.best_value < 2.0


def test_metric_never_reported(local_dir: Path) -> None:
    def no_loss(config: dict[str, Any], reporter: Any) -> None:
        reporter(accuracy=0.5, done=True)

    with pytest.raises(TuneError) as info:
        run(OptunaSearch(seed=0), local_dir, trainable=no_loss)
    assert "'loss'" in str(info.value) and "accuracy" in str(info.value)
    # The searcher's own check, for a result that reaches it without the metric.
    searcher = OptunaSearch(seed=0, metric="loss", mode="min")
    searcher.set_search_properties(None, None, dict(SPACE))
    searcher.suggest("t1")
    with pytest.raises(TuneError, match=r"trial t1 ended without the metric 'loss'; its last result has: "
                                        r"accuracy, done, training_iteration"):
        searcher.on_trial_complete("t1", {"accuracy": 0.5, "done": True, "training_iteration": 1})
    assert searcher.study.trials[0].state == TrialState.FAIL


def test_failed_trials_are_recorded_and_the_run_goes_on(local_dir: Path) -> None:
    def flaky(config: dict[str, Any], reporter: Any) -> None:
        if config["x"] < 0:
            raise RuntimeError("negative x")
        quadratic(config, reporter)

    searcher = OptunaSearch(sampler="random", seed=0)
    trials = run(searcher, local_dir, trainable=flaky, num_samples=12, raise_on_failed_trial=False)
    failed = {t.trial_id for t in trials if t.status == "ERROR"}
    assert failed and len(failed) < 12 and len(trials) == 12
    states = {t.params["x"]: t.state for t in searcher.study.trials}
    assert {x < 0 for x, s in states.items() if s == TrialState.FAIL} == {True}
    assert sum(s == TrialState.FAIL for s in states.values()) == len(failed)
    assert sum(s == TrialState.COMPLETE for s in states.values()) == 12 - len(failed)


def test_points_to_evaluate_come_first_and_teach_the_model(local_dir: Path) -> None:
    points = [{"x": 2.0, "y": -1.0}, {"x": -9.0}, {"y": 9.5, "extra": {"tag": "mine"}}]
    config = {**SPACE, "extra": {"tag": "default"}}
    searcher = OptunaSearch(seed=0, points_to_evaluate=points, max_concurrent=1)
    trials = run(searcher, local_dir, config=config, num_samples=5)
    configs = [t.config for t in sorted(trials, key=lambda t: int(t.experiment_tag.split("_")[0]))]
    assert configs[0] == {"x": 2.0, "y": -1.0, "extra": {"tag": "default"}}
    assert configs[1]["x"] == -9.0 and configs[2]["y"] == 9.5 and configs[2]["extra"] == {"tag": "mine"}
    assert searcher.study.trials[0].params == {"x": 2.0, "y": -1.0}
    assert searcher.study.best_value == 0.0  # the model holds the point's result


@pytest.mark.parametrize(("points", "message"), [
    ([{"x": 1.0}, {"z": 1.0}], "points_to_evaluate[1] sets `config.z`, which is not in the search space"),
    ([{"x": 11.0}], "points_to_evaluate[0]: `config.x` = 11.0 is outside its domain uniform(-10, 10)"),
    ([{"x": 1.0}, "x=1"], "points_to_evaluate[1] must be a config dict, got 'x=1'"),
])
def test_bad_points_to_evaluate(points: list[Any], message: str, local_dir: Path) -> None:
    with pytest.raises(TuneError) as info:
        run(OptunaSearch(points_to_evaluate=points), local_dir)
    assert message in str(info.value)


def test_bad_points_for_an_optuna_space() -> None:
    space = {"x": optuna.distributions.FloatDistribution(0, 1), "n": optuna.distributions.IntDistribution(1, 3)}
    for point, message in [({"x": 0.5, "m": 1}, "points_to_evaluate[0] sets 'm', which is not in the space"),
                           ({"n": 4}, "points_to_evaluate[0]: 'n' = 4 is outside its distribution")]:
        searcher = OptunaSearch(space=space, points_to_evaluate=[point], metric="loss", mode="min")
        with pytest.raises(TuneError) as info:
            searcher.set_search_properties(None, None, {})
        assert message in str(info.value)
