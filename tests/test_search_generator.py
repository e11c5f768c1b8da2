"""SearchGenerator: a model-based Searcher's suggestions turned into validated trials."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tune_core.errors import TuneError
from tune_core.experiment import Experiment
from tune_core.interfaces import Searcher
from tune_core.search import SearchGenerator, grid_search, sample_from, uniform


def train_func(config, reporter):
    reporter(timesteps_total=1)


class ListSearcher(Searcher):
    """Suggests from a fixed list, records every call."""

    def __init__(self, suggestions: list[Any]):
        self.suggestions = list(suggestions)
        self.asked: list[str] = []
        self.results: list[tuple[str, dict]] = []
        self.completed: list[tuple[str, Any, bool]] = []
        self.properties: list[tuple[Any, Any, dict]] = []

    def set_search_properties(self, metric, mode, config):
        self.properties.append((metric, mode, config))
        return super().set_search_properties(metric, mode, config)

    def suggest(self, trial_id):
        self.asked.append(trial_id)
        return self.suggestions.pop(0) if self.suggestions else Searcher.FINISHED

    def on_trial_result(self, trial_id, result):
        self.results.append((trial_id, result))

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.completed.append((trial_id, result, error))

    def save(self):
        return {"left": list(self.suggestions)}

    def restore(self, state):
        self.suggestions = list(state["left"])


def experiment(config, num_samples=10, name="exp", tmp=None):
    return Experiment(name, run=train_func, config=config, num_samples=num_samples, local_dir=tmp)


def test_suggestions_become_trials_merged_over_constants(tmp_path):
    searcher = ListSearcher([{"lr": 0.1, "opt": {"momentum": 0.9}}, {"lr": 0.123456789, "opt": {"momentum": 0.5}}])
    search = SearchGenerator(searcher)
    config = {"lr": uniform(0, 1), "opt": {"momentum": uniform(0, 1), "nesterov": True}, "batch": 32}
    search.add_configurations([experiment(config, tmp=tmp_path)])
    first = search.next_trial()
    assert first is not None
    assert first.config == {"lr": 0.1, "opt": {"momentum": 0.9, "nesterov": True}, "batch": 32}
    assert first.name == "train_func_0_lr=0.1,momentum=0.9"
    assert first.trial_id == searcher.asked[0]
    second = search.next_trial()
    assert second is not None and second.experiment_tag == "1_lr=0.12346,momentum=0.5"
    assert search.next_trial() is None and search.is_finished()  # searcher said FINISHED


def test_num_samples_caps_the_trials(tmp_path):
    searcher = ListSearcher([{"x": i} for i in range(10)])
    search = SearchGenerator(searcher)
    search.add_configurations([experiment({}, num_samples=3, tmp=tmp_path)])
    assert search.total_trials() == 3
    trials = [search.next_trial() for _ in range(5)]
    assert [t.config["x"] for t in trials[:3] if t] == [0, 1, 2] and trials[3:] == [None, None]
    assert len(searcher.asked) == 3 and search.is_finished()


def test_none_means_not_now(tmp_path):
    searcher = ListSearcher([None, {"x": 1}])
    search = SearchGenerator(searcher)
    search.add_configurations([experiment({}, tmp=tmp_path)])
    assert search.next_trial() is None and not search.is_finished()
    trial = search.next_trial()
    assert trial is not None and trial.experiment_tag == "0_x=1"


def test_unsuggested_values_are_resolved_and_grids_rejected(tmp_path):
    searcher = ListSearcher([{"lr": 0.5}])
    search = SearchGenerator(searcher, seed=0)
    config = {"lr": uniform(0, 1), "other": uniform(2, 3), "double": sample_from(lambda spec: spec.config.lr * 2)}
    search.add_configurations([experiment(config, tmp=tmp_path)])
    trial = search.next_trial()
    assert trial is not None
    assert trial.config["double"] == 1.0 and 2 <= trial.config["other"] <= 3
    assert trial.experiment_tag == "0_lr=0.5"

    grid = SearchGenerator(ListSearcher([{"lr": 0.5}]))
    grid.add_configurations([experiment({"lr": uniform(0, 1), "g": grid_search([1, 2])}, tmp=tmp_path)])
    with pytest.raises(TuneError, match=r"ListSearcher left `config\.g` unsuggested"):
        grid.next_trial()

    made = SearchGenerator(ListSearcher([{"lr": 0.5}]))
    made.add_configurations([experiment({"g": sample_from(lambda spec: grid_search([1, 2]))}, tmp=tmp_path)])
    with pytest.raises(TuneError, match="ListSearcher left a grid_search unsuggested"):
        made.next_trial()


def test_suggested_functions_are_values_not_conditionals(tmp_path):
    def activation(x):
        return x

    search = SearchGenerator(ListSearcher([{"act": activation}]))
    search.add_configurations([experiment({}, tmp=tmp_path)])
    trial = search.next_trial()
    assert trial is not None and trial.config["act"] is activation


@pytest.mark.parametrize(
    ("suggestion", "message"),
    [
        (["lr", 0.1], r"suggest\(\) must return a dict, None or Searcher.FINISHED, got \['lr', 0.1\]"),
        ({"lr": uniform(0, 1)}, r"suggested `config\.lr` = uniform\(0, 1\), a search value"),
        ({"opt": {"lr": {"grid_search": [1]}}}, r"suggested `config\.opt\.lr`"),
        ({"lock": threading.Lock()}, r"`config\.lock` cannot be pickled"),
    ],
)
def test_bad_suggestions_are_rejected(tmp_path, suggestion, message):
    search = SearchGenerator(ListSearcher([suggestion]))
    search.add_configurations([experiment({}, tmp=tmp_path)])
    with pytest.raises(TuneError, match=message):
        search.next_trial()


def test_exactly_one_experiment(tmp_path):
    search = SearchGenerator(ListSearcher([]))
    with pytest.raises(TuneError, match="exactly one experiment, got 2: 'a', 'b'"):
        search.add_configurations([experiment({}, name="a", tmp=tmp_path), experiment({}, name="b", tmp=tmp_path)])
    with pytest.raises(TuneError, match=r"needs a tune_core\.interfaces\.Searcher"):
        SearchGenerator(object())  # type: ignore[arg-type]


def test_search_properties_reach_the_searcher_with_the_config(tmp_path):
    searcher = ListSearcher([])
    search = SearchGenerator(searcher)
    search.set_search_properties("acc", "max")  # before the experiment: passed on with it
    config = {"lr": uniform(0, 1)}
    search.add_configurations([experiment(config, tmp=tmp_path)])
    assert searcher.properties == [("acc", "max", config)]
    assert (searcher.metric, searcher.mode) == ("acc", "max")


def test_results_are_forwarded_by_trial_id(tmp_path):
    searcher = ListSearcher([{"x": 1}])
    search = SearchGenerator(searcher)
    search.add_configurations([experiment({}, tmp=tmp_path)])
    trial = search.next_trial()
    assert trial is not None
    search.on_trial_result(trial.trial_id, {"acc": 1})
    search.on_trial_result("someone-else", {"acc": 2})
    search.on_trial_complete(trial.trial_id, {"acc": 3}, error=False)
    search.on_trial_complete("someone-else", None, error=True)
    assert searcher.results == [(trial.trial_id, {"acc": 1})]
    assert searcher.completed == [(trial.trial_id, {"acc": 3}, False)]


def test_save_restore_delegates_and_keeps_the_counter(tmp_path):
    searcher = ListSearcher([{"x": 1}, {"x": 2}, {"x": 3}])
    search = SearchGenerator(searcher)
    search.add_configurations([experiment({}, num_samples=3, tmp=tmp_path)])
    search.next_trial()
    state = search.save()

    fresh = SearchGenerator(ListSearcher([]))
    fresh.add_configurations([experiment({}, num_samples=3, tmp=tmp_path)])
    fresh.restore(state)
    trials = [fresh.next_trial(), fresh.next_trial()]
    assert [t.experiment_tag for t in trials if t] == ["1_x=2", "2_x=3"]
    assert fresh.is_finished()
