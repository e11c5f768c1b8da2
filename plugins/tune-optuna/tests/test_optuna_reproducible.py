"""With a fixed seed, tune-core proposes exactly what Optuna's own ``study.optimize`` would, and the
model does better than random search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna_trainables import bowl, quadratic
from tune_optuna import OptunaSearch

import tune_core as tune

SPACE = {"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10), "n": tune.randint(0, 4),
         "opt": {"lr": tune.loguniform(1e-4, 1e-1), "kind": tune.choice(["sgd", "adam"])}}


def objective(trial: optuna.Trial) -> float:
    """``SPACE`` written in Optuna's terms, the parameters suggested in the config's order."""
    x, y = trial.suggest_float("x", -10, 10), trial.suggest_float("y", -10, 10)
    n = trial.suggest_int("n", 0, 3)
    trial.suggest_float("opt/lr", 1e-4, 1e-1, log=True)
    kind = trial.suggest_categorical("opt/kind", ["sgd", "adam"])
    return bowl(x, y) + n + (kind == "adam")


def train(config: dict[str, Any], reporter: Any) -> None:
    reporter(loss=bowl(config["x"], config["y"]) + config["n"] + (config["opt"]["kind"] == "adam"), done=True)


SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "tpe": lambda seed: optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_configs_as_study_optimize(sampler: str, local_dir: Path) -> None:
    study = optuna.create_study(direction="minimize", sampler=SAMPLERS[sampler](7))
    study.optimize(objective, n_trials=30)
    expected = [trial.params for trial in study.trials]

    searcher = OptunaSearch(sampler=sampler, seed=7)  # one CPU: asked only when its trial can start
    trials = tune.run_experiments({"same": {"run": train, "config": SPACE, "num_samples": 30,
                                            "local_dir": str(local_dir)}},
                                  metric="loss", mode="min", search_alg=searcher, verbose=0,
                                  executor_config={"num_cpus": 1})

    assert [trial.params for trial in searcher.study.trials] == expected
    configs = sorted((t.config for t in trials), key=lambda c: [*map(str, c.values())])
    wanted = sorted(({"x": p["x"], "y": p["y"], "n": p["n"], "opt": {"lr": p["opt/lr"], "kind": p["opt/kind"]}}
                     for p in expected), key=lambda c: [*map(str, c.values())])
    assert configs == wanted
    assert all(type(c["n"]) is int and type(c["x"]) is float for c in configs)
    assert [t.value for t in searcher.study.trials] == [t.value for t in study.trials]


@pytest.mark.parametrize("seed", [0, 1])
def test_tpe_beats_random(seed: int, local_dir: Path) -> None:
    best = {}
    for sampler in ("tpe", "random"):
        analysis = tune.run(quadratic, config={"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10)},
                            num_samples=40, metric="loss", mode="min", local_dir=str(local_dir / sampler),
                            search_alg=OptunaSearch(sampler=sampler, seed=seed, max_concurrent=1), verbose=0)
        best[sampler] = analysis.best_result["loss"]
    assert best["tpe"] * 10 < best["random"], best
