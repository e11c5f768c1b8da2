"""The configs tune-core runs are the ones hyperopt's own ``fmin`` tries, for the same seed: the
random start (``n_initial_points``) and, when trials run one at a time, the TPE proposals after it."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hyperopt import fmin, hp, tpe
from hyperopt_runs import run_trials
from hyperopt_trainables import mixed, objective
from tune_hyperopt import HyperOptSearch

import tune_core as tune
from tune_core.search import ConcurrencyLimiter

N_INITIAL, TOTAL, SEED = 10, 24, 3

#: The same space twice: in tune-core's terms, and as one would write it for hyperopt (labels are
#: the config paths, the convention HyperOptSearch converts with).
TUNE_SPACE = {"x": tune.uniform(-5, 5), "lr": tune.loguniform(1e-4, 1e-1), "n": tune.randint(0, 8),
              "act": tune.choice(["relu", "tanh", "sigmoid"]),
              "nested": {"w": tune.quniform(0, 100, 5), "q": tune.uniform(0, 4)}}
HP_SPACE = {"x": hp.uniform("x", -5, 5), "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
            "n": hp.randint("n", 0, 8), "act": hp.choice("act", ["relu", "tanh", "sigmoid"]),
            "nested": {"w": hp.quniform("nested.w", 0, 100, 5), "q": hp.uniform("nested.q", 0, 4)}}


def fmin_configs(space: dict[str, Any], seed: int = SEED, total: int = TOTAL) -> list[dict[str, Any]]:
    tried: list[dict[str, Any]] = []

    def loss(config: dict[str, Any]) -> float:
        tried.append(config)
        return objective(config)

    fmin(loss, space, algo=partial(tpe.suggest, n_startup_jobs=N_INITIAL), max_evals=total,
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return tried


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal configs; floats to 1e-9 (the converted quniform drops binary noise from k * q)."""
    return (a["act"] == b["act"] and all(a[k] == pytest.approx(b[k], rel=1e-9) for k in ("x", "lr", "n"))
            and all(a["nested"][k] == pytest.approx(b["nested"][k], rel=1e-9) for k in ("w", "q"))
            and type(a["n"]) is type(b["n"]) is int)


def run_configs(local_dir: Path, searcher: HyperOptSearch, config: dict[str, Any]) -> list[dict[str, Any]]:
    """The configs of a real run, one trial at a time, in the order they were suggested."""
    trials = run_trials(local_dir, mixed, config, TOTAL, metric="loss", mode="min",
                        search_alg=ConcurrencyLimiter(searcher, max_concurrent=1))
    assert [t.status for t in trials] == ["TERMINATED"] * TOTAL
    return [t.config for t in trials]


def test_a_run_tries_fmins_configs_for_the_same_seed(local_dir: Path) -> None:
    expected = fmin_configs(HP_SPACE)
    configs = run_configs(local_dir, HyperOptSearch(n_initial_points=N_INITIAL, random_state_seed=SEED),
                          {**TUNE_SPACE, "const": "kept"})
    assert len(configs) == TOTAL
    assert all(c["const"] == "kept" for c in configs)
    # The random start, then every TPE proposal: run one at a time, the Trials are fmin's.
    assert [same(c, e) for c, e in zip(configs, expected, strict=True)] == [True] * TOTAL


def test_a_hyperopt_space_given_as_space_matches_too(local_dir: Path) -> None:
    expected = fmin_configs(HP_SPACE)
    configs = run_configs(local_dir, HyperOptSearch(space=HP_SPACE, n_initial_points=N_INITIAL, random_state_seed=SEED),
                          {"const": "kept"})
    assert [same(c, e) for c, e in zip(configs, expected, strict=True)] == [True] * TOTAL
    assert type(configs[0]["act"]) is str and type(configs[0]["nested"]["w"]) is float


def test_another_seed_gives_other_configs() -> None:
    searcher = HyperOptSearch(n_initial_points=N_INITIAL, random_state_seed=SEED + 1, metric="loss", mode="min")
    searcher.set_search_properties(None, None, dict(TUNE_SPACE))
    first = searcher.suggest("a")
    assert first is not None and not same(first, fmin_configs(HP_SPACE, total=1)[0])
    assert same(first, fmin_configs(HP_SPACE, seed=SEED + 1, total=1)[0])


def test_full_known_points_come_first_and_take_no_seed() -> None:
    """fmin(points_to_evaluate=...) evaluates them first without drawing a seed: so does HyperOptSearch."""
    points = [{"x": 0.5, "lr": 0.01, "n": 2, "act": "tanh", "nested": {"w": 10.0, "q": 1.0}}]
    tried: list[dict[str, Any]] = []

    def loss(config: dict[str, Any]) -> float:
        tried.append(config)
        return objective(config)

    fmin(loss, HP_SPACE, algo=partial(tpe.suggest, n_startup_jobs=N_INITIAL), max_evals=TOTAL,
         rstate=np.random.default_rng(SEED), show_progressbar=False,
         points_to_evaluate=[{"x": 0.5, "lr": 0.01, "n": 2, "act": 1, "nested.w": 10.0, "nested.q": 1.0}])
    searcher = HyperOptSearch(n_initial_points=N_INITIAL, random_state_seed=SEED, metric="loss", mode="min",
                              points_to_evaluate=points)
    searcher.set_search_properties(None, None, dict(TUNE_SPACE))
    for i in range(TOTAL):
        config = searcher.suggest(str(i))
        assert config is not None and same(config, tried[i]), i
        searcher.on_trial_complete(str(i), {"loss": objective(config)})
