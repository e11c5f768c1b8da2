"""BasicVariantGenerator: trials from experiments, lazily, reproducibly, resumable."""

from __future__ import annotations

import json
import pickle
import threading
import time

import pytest

from tune_core.errors import TuneError
from tune_core.experiment import Experiment
from tune_core.search import BasicVariantGenerator, grid_search, randint, uniform


def train_func(config, reporter):
    reporter(timesteps_total=1)


def experiment(name="exp", config=None, num_samples=1, tmp=None):
    return Experiment(name, run=train_func, config=config or {}, num_samples=num_samples, local_dir=tmp)


def drain(search, limit=10_000):
    trials = []
    while not search.is_finished() and len(trials) < limit:
        trial = search.next_trial()
        assert trial is not None
        trials.append(trial)
    return trials


def test_trial_names_configs_and_order_follow_the_seed(tmp_path):
    config = {"lr": grid_search([0.2, 0.4, 0.6]), "momentum": grid_search([0.1, 0.2]), "fixed": "x"}
    search = BasicVariantGenerator()
    search.add_configurations([experiment(config=config, tmp=tmp_path)])
    assert search.total_trials() == 6
    trials = drain(search)
    assert [t.name for t in trials] == [
        "train_func_0_lr=0.2,momentum=0.1",
        "train_func_1_lr=0.4,momentum=0.1",
        "train_func_2_lr=0.6,momentum=0.1",
        "train_func_3_lr=0.2,momentum=0.2",
        "train_func_4_lr=0.4,momentum=0.2",
        "train_func_5_lr=0.6,momentum=0.2",
    ]
    assert trials[4].config == {"lr": 0.4, "momentum": 0.2, "fixed": "x"}
    assert all(t.experiment_name == "exp" and t.status == "PENDING" for t in trials)
    assert search.is_finished() and search.next_trial() is None


def test_num_samples_repeats_the_grid_and_the_counter_runs_across_repeats(tmp_path):
    config = {"a": grid_search([1, 2]), "r": uniform(0, 1)}
    search = BasicVariantGenerator(seed=0)
    search.add_configurations([experiment(config=config, num_samples=3, tmp=tmp_path)])
    assert search.total_trials() == 6
    trials = drain(search)
    assert [t.experiment_tag.split(",")[0] for t in trials] == ["0_a=1", "1_a=2", "2_a=1", "3_a=2", "4_a=1", "5_a=2"]
    assert len({t.config["r"] for t in trials}) == 6


def test_experiments_in_order_each_with_its_own_counter(tmp_path):
    search = BasicVariantGenerator()
    search.add_configurations([
        experiment("one", {"a": grid_search([1, 2])}, tmp=tmp_path),
        experiment("two", {}, num_samples=2, tmp=tmp_path),
    ])
    assert search.total_trials() == 4
    trials = drain(search)
    assert [(t.experiment_name, t.experiment_tag) for t in trials] == [
        ("one", "0_a=1"), ("one", "1_a=2"), ("two", "0"), ("two", "1"),
    ]


def test_total_trials_is_none_when_lambdas_decide(tmp_path):
    search = BasicVariantGenerator()
    search.add_configurations([experiment(config={"a": lambda spec: grid_search([1, 2])}, tmp=tmp_path)])
    assert search.total_trials() is None
    assert len(drain(search)) == 2


def test_same_seed_same_configs(tmp_path):
    config = {"g": grid_search([1, 2]), "lr": uniform(0, 1), "n": randint(0, 10**9), "e": {"eval": "random.random()"}}

    def configs(seed):
        search = BasicVariantGenerator(seed=seed)
        search.add_configurations([experiment(config=config, num_samples=4, tmp=tmp_path)])
        return [t.config for t in drain(search)]

    assert configs(3) == configs(3)
    assert configs(3) != configs(4)


def test_a_huge_grid_is_not_materialised(tmp_path):
    calls = []
    config = {f"g{i}": grid_search(list(range(10))) for i in range(5)}  # 100,000 variants
    search = BasicVariantGenerator()
    exp = experiment(config=config, tmp=tmp_path)
    search.add_configurations([exp])
    assert search.total_trials() == 100_000
    exp.config["probe"] = lambda spec: calls.append(1) or 0  # counts the variants actually built
    start = time.perf_counter()
    trials = [search.next_trial() for _ in range(3)]
    assert time.perf_counter() - start < 1.0
    assert [t.experiment_tag for t in trials][:2] == ["0_g0=0,g1=0,g2=0,g3=0,g4=0,probe=0", "1_g0=1,g1=0,g2=0,g3=0,g4=0,probe=0"]
    assert len(calls) <= 4  # three handed out, at most one looked ahead


def test_unpicklable_config_is_rejected_naming_the_key(tmp_path):
    search = BasicVariantGenerator()
    search.add_configurations([experiment(config={"a": lambda spec: {"lock": threading.Lock()}}, tmp=tmp_path)])
    with pytest.raises(TuneError, match=r"`config\.a\.lock` cannot be pickled"):
        search.next_trial()


def test_bad_grid_fails_when_the_experiment_is_added(tmp_path):
    search = BasicVariantGenerator()
    with pytest.raises(TuneError, match=r"`config\.lr`: grid_search requires a list of values, got int 3"):
        search.add_configurations([experiment(config={"lr": {"grid_search": 3}}, tmp=tmp_path)])


def make_experiments(tmp_path):
    return [
        experiment("one", {"a": grid_search([1, 2, 3]), "r": uniform(0, 1)}, num_samples=2, tmp=tmp_path),
        experiment("two", {"b": grid_search(["x", "y"]), "n": randint(0, 10**9)}, tmp=tmp_path),
    ]


@pytest.mark.parametrize("handed_out", [0, 1, 4, 6, 7, 8])
def test_save_restore_continues_with_the_same_next_trials(tmp_path, handed_out):
    def run(search):
        return [(t.experiment_name, t.experiment_tag, t.config) for t in drain(search)]

    reference = BasicVariantGenerator(seed=11)
    reference.add_configurations(make_experiments(tmp_path))
    expected = run(reference)
    assert len(expected) == 8

    first = BasicVariantGenerator(seed=11)
    first.add_configurations(make_experiments(tmp_path))
    before = [first.next_trial() for _ in range(handed_out)]
    first.is_finished()  # a look-ahead must not leak into the saved state
    state = json.loads(json.dumps(first.save()))  # plain data: fits the JSON state file
    assert pickle.loads(pickle.dumps(state)) == state

    resumed = BasicVariantGenerator(seed=None)  # the state carries the random state
    resumed.add_configurations(make_experiments(tmp_path))
    resumed.restore(state)
    assert [(t.experiment_name, t.experiment_tag, t.config) for t in before] == expected[:handed_out]
    assert run(resumed) == expected[handed_out:]


def test_restore_before_add_configurations_and_name_mismatch(tmp_path):
    search = BasicVariantGenerator(seed=1)
    search.add_configurations(make_experiments(tmp_path))
    search.next_trial()
    state = search.save()

    early = BasicVariantGenerator()
    early.restore(state)
    early.add_configurations(make_experiments(tmp_path))
    assert len(drain(early)) == 7

    other = BasicVariantGenerator()
    other.add_configurations([experiment("elsewhere", tmp=tmp_path)])
    with pytest.raises(TuneError, match="saved for experiments \\['one', 'two'\\] but this run has \\['elsewhere'\\]"):
        other.restore(state)
    with pytest.raises(TuneError, match="not a state it saved"):
        other.restore({"version": 99})


def test_experiments_added_after_the_first_ran_out(tmp_path):
    search = BasicVariantGenerator()
    search.add_configurations([experiment("one", tmp=tmp_path)])
    assert len(drain(search)) == 1 and search.is_finished()
    search.add_configurations([experiment("two", {"a": grid_search([1, 2])}, tmp=tmp_path)])
    assert not search.is_finished()
    assert [t.experiment_tag for t in drain(search)] == ["0_a=1", "1_a=2"]
