"""HyperOptSearch as a tune-core Searcher: its options, objective, known points, failures, and a
state that carries the model across a save and restore."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from hyperopt import hp
from hyperopt_runs import run_trials
from hyperopt_trainables import quadratic
from tune_hyperopt import HyperOptSearch

import tune_core as tune
from tune_core import TuneError

SPACE = {"x": tune.uniform(-5, 5), "y": tune.uniform(-5, 5)}


def ready(**kwargs: Any) -> HyperOptSearch:
    kwargs = {"metric": "loss", "mode": "min", "random_state_seed": 0, **kwargs}
    searcher = HyperOptSearch(**kwargs)
    searcher.set_search_properties(None, None, dict(SPACE))
    return searcher


def loss(config: dict[str, Any]) -> float:
    return (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "minimize"}, r"HyperOptSearch: `mode` must be one of 'min', 'max', got 'minimize'"),
    ({"n_initial_points": -1}, r"`n_initial_points` must be an integer >= 0, got -1"),
    ({"gamma": 0}, r"`gamma` must be a number > 0"),
    ({"gamma": 1.5}, r"`gamma` must be a number >= 0 and <= 1, got 1.5"),
    ({"random_state_seed": "7"}, r"`random_state_seed` must be an integer"),
    ({"space": [hp.uniform("x", 0, 1)]}, r"`space` must be a dict of config keys"),
    ({"points_to_evaluate": {"x": 1}}, r"`points_to_evaluate` must be a list of config dicts"),
])
def test_bad_options_fail_where_given(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TuneError, match=message):
        HyperOptSearch(**kwargs)


def test_metric_and_mode_come_from_the_run_or_fail_clearly() -> None:
    searcher = HyperOptSearch()
    searcher.set_search_properties("loss", "max", dict(SPACE))
    assert (searcher.metric, searcher.mode) == ("loss", "max")
    with pytest.raises(TuneError, match=r"HyperOptSearch needs `metric` and `mode`"):
        HyperOptSearch().set_search_properties(None, None, dict(SPACE))
    with pytest.raises(TuneError, match=r"nothing to search"):
        HyperOptSearch(metric="loss", mode="min").set_search_properties(None, None, {"x": 1})


def test_max_mode_gives_hyperopt_the_negated_value() -> None:
    searcher = ready(mode="max")
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"loss": 2.5})
    assert searcher.trials.losses() == [-2.5]


def test_a_result_without_the_metric_names_it_and_what_the_result_has() -> None:
    searcher = ready()
    searcher.suggest("a")
    with pytest.raises(TuneError, match=r"trial a ended without the metric 'loss' in its result, .*"
                                        r"the result has: accuracy, done"):
        searcher.on_trial_complete("a", {"accuracy": 0.9, "done": True})


def test_a_run_whose_results_never_carry_the_metric_fails_clearly(local_dir: Path) -> None:
    with pytest.raises(TuneError, match=r"without 'accuracy'.*the result has: loss"):
        run_trials(local_dir, quadratic, dict(SPACE), 3, metric="accuracy", mode="max",
                   search_alg=HyperOptSearch(random_state_seed=0))


def test_failed_trials_are_hyperopt_failures_and_the_run_goes_on(local_dir: Path) -> None:
    searcher = HyperOptSearch(n_initial_points=4, random_state_seed=3)
    trials = run_trials(local_dir, quadratic, {**SPACE, "fail_above": 2.0}, 16, metric="loss", mode="min",
                        search_alg=searcher)
    assert len(trials) == 16
    failed = {t.config["x"] for t in trials if t.status == "ERROR"}
    assert failed == {t.config["x"] for t in trials if t.config["x"] > 2.0} and failed
    assert {t.status for t in trials if t.config["x"] <= 2.0} == {"TERMINATED"}
    statuses = {doc["misc"]["vals"]["x"][0]: doc["result"]["status"] for doc in searcher.trials.trials}
    assert statuses == {x: "fail" if x > 2.0 else "ok" for x in statuses}
    assert sorted(x for x, status in statuses.items() if status == "fail") == pytest.approx(sorted(failed))
    assert all(doc["state"] == 2 for doc in searcher.trials.trials), "every document is done"


def test_trials_ending_without_a_result_are_failures() -> None:
    searcher = ready()
    searcher.suggest("never-ran")
    searcher.suggest("errored")
    searcher.on_trial_complete("never-ran", None)
    searcher.on_trial_complete("errored", {"loss": 1.0}, error=True)
    assert searcher.trials.statuses() == ["fail", "fail"]


def test_known_points_run_first_and_teach_hyperopt(local_dir: Path) -> None:
    points = [{"x": 1.0, "y": -2.0}, {"x": -4.0}]
    searcher = HyperOptSearch(points_to_evaluate=points, random_state_seed=0)
    trials = run_trials(local_dir, quadratic, dict(SPACE), 4, metric="loss", mode="min", search_alg=searcher)
    assert trials[0].config == {"x": 1.0, "y": -2.0}
    assert trials[1].config["x"] == -4.0 and -5 <= trials[1].config["y"] <= 5
    docs = searcher.trials.trials
    assert docs[0]["misc"]["vals"] == {"x": [1.0], "y": [-2.0]}
    assert docs[0]["result"] == {"status": "ok", "loss": 0.0}
    assert docs[1]["misc"]["vals"]["x"] == [-4.0] and docs[1]["misc"]["vals"]["y"] == [trials[1].config["y"]]
    assert docs[1]["result"]["loss"] == pytest.approx(loss(trials[1].config))


def test_known_points_in_a_hyperopt_space_map_onto_its_labels() -> None:
    space = {"opt": hp.choice("opt", [{"name": "sgd", "lr": hp.loguniform("lr", -9, -2)}, {"name": "adam"}]),
             "n": hp.randint("n", 1, 4)}
    searcher = HyperOptSearch(space=space, metric="loss", mode="min", random_state_seed=0,
                              points_to_evaluate=[{"opt": {"name": "adam"}, "n": 2}, {"opt": {"name": "sgd", "lr": 0.01}}])
    searcher.set_search_properties(None, None, {})
    assert searcher.suggest("a") == {"opt": {"name": "adam"}, "n": 2}
    second = searcher.suggest("b")
    assert second is not None and second["opt"] == {"name": "sgd", "lr": 0.01} and second["n"] in (1, 2, 3)
    vals = [doc["misc"]["vals"] for doc in searcher.trials.trials]
    assert vals[0] == {"opt": [1], "lr": [], "n": [2]}
    assert vals[1]["opt"] == [0] and vals[1]["lr"] == [0.01]


@pytest.mark.parametrize(("points", "message"), [
    ([{"x": 1.0}, {"z": 1.0}], r"points_to_evaluate\[1\] sets `config.z`, which is not in the search space"),
    ([{"x": 11.0}], r"points_to_evaluate\[0\]: `config.x` = 11.0 is outside its domain uniform\(-5, 5\)"),
    ([{"x": 1.0}, "x=1"], r"points_to_evaluate\[1\] must be a config dict"),
])
def test_bad_known_points_name_the_index_and_key(points: list[Any], message: str) -> None:
    with pytest.raises(TuneError, match=message):
        ready(points_to_evaluate=points)


@pytest.mark.parametrize(("point", "message"), [
    ({"x": 0.5, "w": 1}, r"points_to_evaluate\[0\]: `w` is not in the search space"),
    ({"x": 7}, r"points_to_evaluate\[0\]: `x` = 7 is outside hp.uniform: values in \[0, 1\]"),
    ({"c": "d"}, r"points_to_evaluate\[0\]: `c` = 'd' is none of the options of hp.choice\('c', ...\)"),
    ({"n": 2.5}, r"points_to_evaluate\[0\]: `n` = 2.5 is outside hp.randint: the integers in \[0, 3\)"),
])
def test_bad_known_points_for_a_hyperopt_space_name_the_index_and_key(point: dict[str, Any], message: str) -> None:
    space = {"x": hp.uniform("x", 0, 1), "c": hp.choice("c", ["a", "b"]), "n": hp.randint("n", 3)}
    searcher = HyperOptSearch(space=space, metric="loss", mode="min", points_to_evaluate=[point])
    with pytest.raises(TuneError, match=message):
        searcher.set_search_properties(None, None, {})


def test_a_hyperopt_space_and_distributions_in_the_config_is_an_error() -> None:
    searcher = HyperOptSearch(space={"x": hp.uniform("x", 0, 1)}, metric="loss", mode="min")
    with pytest.raises(TuneError, match=r"config has search values too \(`y`\)"):
        searcher.set_search_properties(None, None, {"y": tune.uniform(0, 1)})


def test_save_and_restore_carry_the_model_on_exactly() -> None:
    """A searcher restored from a pickled state mid-run suggests what the uninterrupted one does."""
    straight, interrupted = ready(n_initial_points=5), ready(n_initial_points=5)
    suggested = []
    for i in range(8):
        for searcher in (straight, interrupted):
            config = searcher.suggest(str(i))
            assert config is not None
            suggested.append(config)
            if i < 7:  # trial 7 is still live at the save
                searcher.on_trial_complete(str(i), {"loss": loss(config)})
    state = cloudpickle.loads(cloudpickle.dumps(interrupted.save()))
    resumed = ready(n_initial_points=5)
    resumed.restore(state)
    assert len(resumed.trials.trials) == 8 and resumed.trials.trials[7]["state"] == 1  # still running
    resumed.on_trial_complete("7", {"loss": 3.0})
    straight.on_trial_complete("7", {"loss": 3.0})
    for i in range(8, 14):
        expected, got = straight.suggest(str(i)), resumed.suggest(str(i))
        assert got == expected
        assert got is not None and got not in suggested
        suggested.append(got)
        straight.on_trial_complete(str(i), {"loss": loss(got)})
        resumed.on_trial_complete(str(i), {"loss": loss(got)})
    assert resumed.trials.losses() == straight.trials.losses()
    assert ready(n_initial_points=5).suggest("8") == suggested[0], "a fresh searcher starts over"


def test_restore_refuses_a_changed_space() -> None:
    state = ready().save()
    other = HyperOptSearch(metric="loss", mode="min")
    other.set_search_properties(None, None, {"x": tune.uniform(-5, 5), "z": tune.uniform(0, 1)})
    with pytest.raises(TuneError, match=r"the search space changed since the run was saved"):
        other.restore(state)


def test_nan_results_are_failures() -> None:
    searcher = ready()
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"loss": math.nan})
    assert searcher.trials.statuses() == ["fail"]
