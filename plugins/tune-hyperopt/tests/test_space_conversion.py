"""tune-core's search-space types as hyperopt expressions, and the values that come back: the
conversion table of the README, value by value."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pytest
from hyperopt_runs import run_trials
from hyperopt_trainables import quadratic
from tune_hyperopt import HyperOptSearch
from tune_hyperopt.space import TuneSpace

import tune_core as tune
from tune_core import TuneError

DRAWS = 300


def draws(config: dict[str, Any], n: int = DRAWS) -> list[dict[str, Any]]:
    """``n`` random-start suggestions for ``config`` (all random: n_initial_points is larger)."""
    searcher = HyperOptSearch(metric="loss", mode="min", n_initial_points=10 * n, random_state_seed=0)
    searcher.set_search_properties(None, None, config)
    out = []
    for i in range(n):
        suggestion = searcher.suggest(str(i))
        assert suggestion is not None
        out.append(suggestion)
    return out


def distribution(expr: Any) -> tuple[str, dict[str, Any]]:
    """The hyperopt distribution under ``hp.*``'s cast (or a choice's switch): its name and literal
    arguments."""
    param = expr.pos_args[0] if expr.name in ("float", "int", "switch") else expr
    dist = param.arg["obj"]
    return dist.name, {k: v.obj for k, v in dist.arg.items() if getattr(v, "name", None) == "literal"}


@pytest.mark.parametrize(("domain", "name", "args"), [
    (tune.uniform(-2, 3), "uniform", {"low": -2, "high": 3}),
    (tune.quniform(0, 1, 0.25), "quniform", {"low": 0, "high": 1, "q": 0.25}),
    (tune.loguniform(1e-3, 10), "loguniform", {"low": math.log(1e-3), "high": math.log(10)}),
    (tune.loguniform(2, 64, base=2), "loguniform", {"low": math.log(2), "high": math.log(64)}),
    (tune.qloguniform(1, 100, 5), "qloguniform", {"low": 0.0, "high": math.log(100), "q": 5}),
    (tune.randint(3, 9), "randint", {"low": 3, "high": 9}),
    (tune.qrandint(0, 10, 5), "quniform", {"low": -2.5, "high": 12.5, "q": 5}),
    (tune.lograndint(1, 1000), "loguniform", {"low": 0.0, "high": math.log(1000)}),
    (tune.randn(1, 2), "normal", {"mu": 1, "sigma": 2}),
    (tune.qrandn(0, 1, 0.5), "qnormal", {"mu": 0, "sigma": 1, "q": 0.5}),
    (tune.choice(["a", "b"]), "randint", {"low": 2}),  # hyperopt's randint(n): 0 .. n - 1
])
def test_each_distribution_becomes_its_hyperopt_expression(domain: Any, name: str, args: dict[str, Any]) -> None:
    space = TuneSpace({"v": domain}, "test")
    got_name, got_args = distribution(space.expr["v"])
    assert got_name == name
    assert {key: got_args[key] for key in args} == pytest.approx(args)
    assert space.labels == ["v"]


def test_bounds_and_types_follow_tune_core() -> None:
    got = draws({"u": tune.uniform(-2, 3), "qu": tune.quniform(0.05, 1, 0.1), "lu": tune.loguniform(2, 64, base=2),
                 "ri": tune.randint(0, 3), "qri": tune.qrandint(0, 10, 5), "lri": tune.lograndint(1, 10),
                 "rn": tune.randn(0, 1), "qrn": tune.qrandn(0, 1, 0.5), "qlu": tune.qloguniform(1, 100, 5)})
    column = {key: [g[key] for g in got] for key in got[0]}
    assert all(type(v) is float and -2 <= v <= 3 for v in column["u"])
    assert set(column["ri"]) == {0, 1, 2}, "randint's upper bound is exclusive"
    assert all(type(v) is int for key in ("ri", "qri", "lri") for v in column[key])
    assert set(column["qri"]) == {0, 5, 10}, "qrandint's upper bound is inclusive"
    assert min(column["lri"]) >= 1 and max(column["lri"]) == 9
    assert all(2 <= v <= 64 for v in column["lu"])
    # Multiples of q inside the bounds, without binary noise: 0.05 rounds to 0.0 in hyperopt, not here.
    assert set(column["qu"]) <= {round(0.1 * k, 10) for k in range(1, 11)} and 0.1 in column["qu"]
    assert all(v % 5 == 0 and 5 <= v <= 100 for v in column["qlu"])
    assert all(type(v) is float for v in column["rn"]) and abs(sum(column["rn"]) / DRAWS) < 0.2
    assert all(v * 2 == int(v * 2) for v in column["qrn"])


def test_choice_gives_the_category_itself_and_searches_inside_categories() -> None:
    marker = object()
    got = draws({"c": tune.choice(["a", 2, None, marker, {"fixed": [1, 2]}]),
                 "opt": tune.choice([{"name": "sgd", "lr": tune.loguniform(1e-4, 1e-1)}, {"name": "adam"}]),
                 "mix": tune.choice([tune.uniform(10, 20), "off"])}, n=120)
    assert {repr(g["c"]) for g in got} == {"'a'", "2", "None", repr(marker), "{'fixed': [1, 2]}"}
    assert any(g["c"] is marker for g in got)
    sgd = [g["opt"] for g in got if g["opt"]["name"] == "sgd"]
    assert sgd and all(set(o) == {"name", "lr"} and 1e-4 <= o["lr"] <= 1e-1 for o in sgd)
    assert {"name": "adam"} in [g["opt"] for g in got]
    assert {type(g["mix"]) for g in got} == {float, str}
    assert all(10 <= g["mix"] <= 20 for g in got if g["mix"] != "off")


def test_labels_are_config_paths_and_inactive_ones_stay_empty() -> None:
    searcher = HyperOptSearch(metric="loss", mode="min", random_state_seed=1)
    searcher.set_search_properties(None, None, {
        "nested": {"deep": {"w": tune.uniform(0, 1)}, "k": 3},
        "opt": tune.choice([{"lr": tune.uniform(0, 1)}, {"momentum": tune.uniform(0, 1)}])})
    for i in range(6):
        suggestion = searcher.suggest(str(i))
        assert suggestion is not None and set(suggestion) == {"nested", "opt"}
        assert set(suggestion["nested"]) == {"deep"}, "constants are not suggested: the config keeps them"
    docs = searcher.trials.trials
    assert set(docs[0]["misc"]["vals"]) == {"nested.deep.w", "opt", "opt[0].lr", "opt[1].momentum"}
    for doc in docs:
        vals = doc["misc"]["vals"]
        chosen = vals["opt"][0]
        assert bool(vals["opt[0].lr"]) == (chosen == 0) and bool(vals["opt[1].momentum"]) == (chosen == 1)


def test_constants_and_conditional_values_reach_the_trial(local_dir: Path) -> None:
    config = {"x": tune.uniform(-3, 3), "y": tune.sample_from(lambda spec: spec.config.x * 2),
              "k": {"const": "kept"}}
    trials = run_trials(local_dir, quadratic, config, 5, metric="loss", mode="min",
                        search_alg=HyperOptSearch(random_state_seed=0))
    assert [t.status for t in trials] == ["TERMINATED"] * 5
    for trial in trials:
        assert trial.config["y"] == trial.config["x"] * 2
        assert trial.config["k"] == {"const": "kept"}


def test_values_hyperopt_cannot_express_are_left_to_the_generator(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tune_hyperopt.search"):
        searcher = HyperOptSearch(metric="loss", mode="min")
        searcher.set_search_properties(None, None, {
            "x": tune.uniform(0, 1), "layers": [tune.randint(1, 4), 8],
            "f": tune.choice([tune.sample_from(lambda spec: 1), 2])})
    assert "`layers`, `f`" in caplog.text
    assert set(searcher.suggest("a") or {}) == {"x"}


def test_a_grid_search_is_a_clear_error() -> None:
    searcher = HyperOptSearch(metric="loss", mode="min")
    with pytest.raises(TuneError, match=r"`opt.lr` is a grid_search; a searcher cannot enumerate a grid: use "
                                        r"BasicVariantGenerator .* or give the values as choice"):
        searcher.set_search_properties(None, None, {"x": tune.uniform(0, 1),
                                                    "opt": {"lr": tune.grid_search([0.1, 0.2])}})


def test_a_grid_search_fails_a_run_before_any_trial(local_dir: Path) -> None:
    with pytest.raises(TuneError, match="cannot enumerate a grid"):
        run_trials(local_dir, quadratic, {"x": tune.grid_search([1, 2])}, 2, metric="loss", mode="min",
                   search_alg="hyperopt")
    assert not local_dir.exists() or not any(local_dir.rglob("result.json"))


def test_a_space_written_as_data_is_converted() -> None:
    space = {"x": {"uniform": [-1, 1]}, "n": {"randint": [0, 3]}, "opt": {"choice": [["sgd", "adam"]]},
             "nested": {"lr": {"loguniform": {"lower": 1e-3, "upper": 1e-1}}}}
    searcher = HyperOptSearch(space=space, metric="loss", mode="min", random_state_seed=0)
    searcher.set_search_properties(None, None, {"const": 5})
    suggestion = searcher.suggest("a")
    assert suggestion is not None and set(suggestion) == {"x", "n", "opt", "nested"}
    assert -1 <= suggestion["x"] <= 1 and suggestion["n"] in (0, 1, 2) and suggestion["opt"] in ("sgd", "adam")
    assert 1e-3 <= suggestion["nested"]["lr"] <= 1e-1
    with pytest.raises(TuneError, match=r"`space.x` = \{'uniform': \[1\]\}"):
        HyperOptSearch(space={"x": {"uniform": [1]}}, metric="loss", mode="min").set_search_properties(None, None, {})
