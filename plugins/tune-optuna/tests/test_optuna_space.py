"""Search spaces: tune-core's distributions converted to Optuna's, an Optuna dict (also in JSON form),
define-by-run functions; values come back plain and nested like the config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna_trainables import quadratic
from tune_optuna import OptunaSearch
from tune_optuna.space import from_config

import tune_core as tune
from tune_core import TuneError


class Blob:
    """A category Optuna cannot hold itself."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and other.size == self.size

    def __hash__(self) -> int:
        return self.size


def record(config: dict[str, Any], reporter: Any) -> None:
    reporter(loss=0.0, seen=repr(config), done=True)


def run(config: dict[str, Any], searcher: OptunaSearch, local_dir: Path, num_samples: int = 30) -> list[Any]:
    return tune.run_experiments({"space": {"run": record, "config": config, "num_samples": num_samples,
                                           "local_dir": str(local_dir)}},
                                metric="loss", mode="min", search_alg=searcher, verbose=0)


def convert(config: dict[str, Any]) -> dict[str, Any]:
    return {param.name: param.distribution for param in from_config("test", config)}


def test_conversion_table() -> None:
    assert convert({
        "u": tune.uniform(-1, 2), "lu": tune.loguniform(1e-4, 1e-1), "l2": tune.loguniform(1, 8, base=2),
        "qu": tune.quniform(0, 1, 0.25), "ri": tune.randint(0, 5), "qri": tune.qrandint(0, 10, 5),
        "lri": tune.lograndint(1, 100), "ch": tune.choice(["a", 1, None, 2.5, False]),
        "nested": {"deep": {"v": tune.uniform(0, 1)}},
    }) == {
        "u": FloatDistribution(-1, 2), "lu": FloatDistribution(1e-4, 1e-1, log=True),
        "l2": FloatDistribution(1, 8, log=True), "qu": FloatDistribution(0, 1, step=0.25),
        "ri": IntDistribution(0, 4), "qri": IntDistribution(0, 10, step=5),
        "lri": IntDistribution(1, 99, log=True), "ch": CategoricalDistribution(["a", 1, None, 2.5, False]),
        "nested/deep/v": FloatDistribution(0, 1),
    }


def test_bounds_move_onto_the_multiples_of_q() -> None:
    # tune-core's q values are multiples of q, Optuna's are low + k * step: the bounds are moved.
    assert convert({"q": tune.quniform(0.05, 1.0, 0.1), "i": tune.qrandint(1, 11, 3)}) == {
        "q": FloatDistribution(0.1, 1.0, step=0.1), "i": IntDistribution(3, 9, step=3)}
    # Where binary noise makes Optuna find (high - low) no multiple of q, it would drop the top value:
    # the value is sampled continuously and rounded to a multiple instead.
    (param,) = from_config("test", {"t": tune.quniform(0.1, 2, 1 / 3)})
    assert param.distribution == FloatDistribution(0.333333333333333, 2.0)
    assert [param.decode(v) for v in (0.34, 0.49, 0.51, 1.9999)] == [0.333333333333333, 0.333333333333333,
                                                                      0.666666666666667, 2.0]
    # Objects, and categories Optuna would confuse (1 == True), are sampled by index.
    assert convert({"c": tune.choice([Blob(1), Blob(2)]), "b": tune.choice([1, True])}) == {
        "c": CategoricalDistribution([0, 1]), "b": CategoricalDistribution([0, 1])}


def test_suggested_values_are_plain_nested_and_in_range(local_dir: Path) -> None:
    config = {"u": tune.uniform(-1, 2), "qu": tune.quniform(0.05, 1, 0.1), "ri": tune.randint(0, 3),
              "qri": tune.qrandint(0, 10, 5), "lri": tune.lograndint(1, 100), "ql": tune.qloguniform(1, 100, 5),
              "c": tune.choice([Blob(1), Blob(2)]), "b": tune.choice([1, True]), "const": 7,
              "nested": {"deep": {"v": tune.uniform(0, 1)}, "k": "kept"},
              "derived": tune.sample_from(lambda spec: spec.config.ri * 2)}
    trials = run(config, OptunaSearch(sampler="random", seed=1), local_dir)
    configs = [t.config for t in trials]
    for c in configs:
        assert type(c["u"]) is float and -1 <= c["u"] <= 2
        assert c["qu"] in {round(0.1 * k, 10) for k in range(1, 11)}
        assert type(c["ri"]) is int and 0 <= c["ri"] < 3
        assert type(c["qri"]) is int and c["qri"] in (0, 5, 10)
        assert type(c["lri"]) is int and 1 <= c["lri"] < 100
        assert c["ql"] % 5 == 0 and 5 <= c["ql"] <= 100
        assert c["c"] in (Blob(1), Blob(2)) and c["b"] in (1, True)
        assert c["const"] == 7 and c["nested"]["k"] == "kept" and 0 <= c["nested"]["deep"]["v"] <= 1
        assert c["derived"] == c["ri"] * 2
    assert {c["ri"] for c in configs} == {0, 1, 2}, "the upper bound of randint is exclusive"
    assert {c["qri"] for c in configs} == {0, 5, 10}, "the upper bound of qrandint is inclusive"
    assert {type(c["b"]) for c in configs} == {int, bool}


def test_dict_of_optuna_distributions_json_forms_and_nesting(local_dir: Path) -> None:
    space = {"x": FloatDistribution(-10, 10), "opt": {"n": IntDistribution(1, 3)},
             "opt/kind": {"type": "categorical", "choices": ["a", "b"]},
             "y": {"name": "FloatDistribution", "attributes": {"low": -10, "high": 10}}}
    searcher = OptunaSearch(space=space, seed=0)
    trials = tune.run_experiments({"d": {"run": quadratic, "config": {"fixed": 1}, "num_samples": 8,
                                         "local_dir": str(local_dir)}},
                                  metric="loss", mode="min", search_alg=searcher, verbose=0)
    for trial in trials:
        c = trial.config
        assert set(c) == {"x", "y", "opt", "fixed"} and set(c["opt"]) == {"n", "kind"}
        assert type(c["opt"]["n"]) is int and c["opt"]["kind"] in ("a", "b")
    assert set(searcher.study.trials[0].params) == {"x", "y", "opt/n", "opt/kind"}


def test_define_by_run(local_dir: Path) -> None:
    def space(trial: Any) -> dict[str, Any]:
        x = trial.suggest_float("x", -10, 10)
        if x > 0:
            trial.suggest_float("y", 0, 10)
        else:
            trial.suggest_float("y", -10, 0)
        trial.suggest_int("model/depth", 1, 4)
        return {"model": {"kind": "tree"}}

    searcher = OptunaSearch(space=space, seed=3)
    trials = tune.run_experiments({"dbr": {"run": quadratic, "num_samples": 12, "local_dir": str(local_dir)}},
                                  metric="loss", mode="min", search_alg=searcher, verbose=0)
    for trial in trials:
        c = trial.config
        assert (c["x"] > 0) == (c["y"] >= 0)
        assert c["model"]["kind"] == "tree" and 1 <= c["model"]["depth"] <= 4
    assert [t.state.name for t in searcher.study.trials] == ["COMPLETE"] * 12

    def bad(trial: Any) -> list[int]:
        trial.suggest_float("x", 0, 1)
        return [1]

    with pytest.raises(TuneError, match="define-by-run space must return None or a dict"):
        tune.run(quadratic, num_samples=1, metric="loss", mode="min", search_alg=OptunaSearch(space=bad),
                 local_dir=str(local_dir), verbose=0)


@pytest.mark.parametrize(("config", "message"), [
    ({"x": tune.grid_search([1, 2])}, "`config.x` is a grid_search; a searcher cannot enumerate a grid"),
    ({"a": {"x": tune.randn(0, 1)}}, "`config.a.x` = randn(0, 1): Optuna has no normal distribution"),
    ({"l": [tune.uniform(0, 1)]}, "`config.l` holds search values inside a list"),
    ({"c": tune.choice([tune.uniform(0, 1), 2])}, "has a search value among its categories"),
    ({"a/b": tune.uniform(0, 1), "a": {"b": tune.uniform(0, 1)}}, "both get the Optuna name 'a/b'"),
])
def test_spaces_optuna_cannot_take(config: dict[str, Any], message: str, local_dir: Path) -> None:
    with pytest.raises(TuneError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        run(config, OptunaSearch(), local_dir, num_samples=1)


def test_space_in_one_place(local_dir: Path) -> None:
    with pytest.raises(TuneError, match=r"given `space=` and the config holds search values too \(`config.x`\)"):
        run({"x": tune.uniform(0, 1)}, OptunaSearch(space={"x": FloatDistribution(0, 1)}), local_dir)
    with pytest.raises(TuneError, match=r"space\['x'\] must be an optuna distribution"):
        OptunaSearch(space={"x": [0, 1]})
    with pytest.raises(TuneError, match=r"space\['x'\] = .* is not an Optuna distribution in JSON form"):
        OptunaSearch(space={"x": {"type": "float", "low": 1}})


def test_no_distribution_in_the_config_suggests_constants(local_dir: Path) -> None:
    trials = run({"a": 1, "b": {"c": "d"}}, OptunaSearch(seed=0), local_dir, num_samples=2)
    assert [t.config for t in trials] == [{"a": 1, "b": {"c": "d"}}] * 2
    assert not math.isnan(trials[0].last_result["loss"])


def test_define_by_run_with_points_to_evaluate(local_dir: Path) -> None:
    def space(trial: Any) -> None:
        trial.suggest_float("x", -10, 10)
        trial.suggest_float("y", -10, 10)

    searcher = OptunaSearch(space=space, seed=0, max_concurrent=1,
                            points_to_evaluate=[{"x": 2.0, "y": -1.0, "note": "mine"}, {"x": 5.0}])
    trials = tune.run_experiments({"p": {"run": quadratic, "num_samples": 4, "local_dir": str(local_dir)}},
                                  metric="loss", mode="min", search_alg=searcher, verbose=0)
    first, second = sorted(trials, key=lambda t: int(t.experiment_tag.split("_")[0]))[:2]
    assert first.config == {"x": 2.0, "y": -1.0, "note": "mine"} and second.config["x"] == 5.0
    assert searcher.study.best_params == {"x": 2.0, "y": -1.0}
