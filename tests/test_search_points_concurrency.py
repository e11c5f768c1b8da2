"""The search pieces every searcher gets from the core: ``points_to_evaluate`` checked against the
space (``validate_points``, ``Domain.allows``) and tried first by ``basic``; ``ConcurrencyLimiter``;
suggestions asked late (``max_pending_trials``); a scheduler that brings its search."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.errors import TuneError
from tune_core.interfaces import Searcher
from tune_core.schedulers import FIFOScheduler
from tune_core.search import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    SearchGenerator,
    choice,
    grid_search,
    lograndint,
    loguniform,
    qrandint,
    quniform,
    randint,
    randn,
    uniform,
    validate_points,
)


# --- validate_points / Domain.allows -------------------------------------------------------------
@pytest.mark.parametrize(("domain", "inside", "outside"), [
    (uniform(0, 1), [0, 0.5, 1.0], [1.5, -0.1, "0.5", True, float("nan")]),
    (quniform(0, 1, 0.25), [0.25, 0.75], [0.3, 2.0]),
    (loguniform(1e-4, 1e-1), [1e-3], [1.0]),
    (randint(0, 3), [0, 2], [3, 1.5, True]),
    (qrandint(0, 10, 5), [0, 5, 10], [3, 15]),
    (lograndint(1, 100), [1, 99], [100, 0]),
    (randn(0, 1), [-3.0, 12], ["x"]),
    (choice(["a", 1, uniform(5, 6)]), ["a", 1, 5.5], ["b", True, 7.0]),
    (choice([{"name": "sgd", "lr": uniform(0, 1)}, {"name": "adam"}]),
     [{"name": "sgd", "lr": 0.5}, {"name": "adam"}], [{"name": "sgd", "lr": 2}, {"name": "adam", "lr": 0.5}, "sgd"]),
])
def test_domains_allow_what_they_could_give(domain: Any, inside: list[Any], outside: list[Any]) -> None:
    assert all(domain.allows(v) for v in inside), [v for v in inside if not domain.allows(v)]
    assert not any(domain.allows(v) for v in outside), [v for v in outside if domain.allows(v)]


def test_validate_points_names_the_point_and_the_key() -> None:
    space = {"lr": loguniform(1e-5, 1e-1), "opt": {"momentum": uniform(0, 1), "name": "sgd"},
             "layers": grid_search([1, 2]), "const": 3}
    ok = [{"lr": 1e-3}, {"opt": {"momentum": 0.5}, "layers": 2, "const": 4}]
    assert validate_points("S", ok, space) == ok
    with pytest.raises(TuneError, match=r"S: points_to_evaluate\[1\]: `config.lr` = 2 is outside its domain "
                                        r"loguniform\(1e-05, 0.1"):
        validate_points("S", [{"lr": 1e-3}, {"lr": 2}], space)
    with pytest.raises(TuneError, match=r"points_to_evaluate\[0\] sets `config.opt.momentun`.*did you mean 'momentum'"):
        validate_points("S", [{"opt": {"momentun": 0.5}}], space)
    with pytest.raises(TuneError, match=r"`config.layers` = 3 is not one of its grid values \[1, 2\]"):
        validate_points("S", [{"layers": 3}], space)
    with pytest.raises(TuneError, match="must be a list of config dicts"):
        validate_points("S", {"lr": 1e-3}, space)
    with pytest.raises(TuneError, match=r"points_to_evaluate\[0\] must be a config dict"):
        validate_points("S", [0.1], space)


# --- basic with points_to_evaluate ----------------------------------------------------------------
def _loss(config: dict[str, Any], reporter: Any) -> None:
    reporter(loss=config["x"])


def _run(trainable: Any, config: dict[str, Any], local_dir: Path, name: str = "e", num_samples: int = 1,
         **kwargs: Any) -> list[Any]:
    return tune.run_experiments({name: {"run": trainable, "config": config, "num_samples": num_samples,
                                        "local_dir": str(local_dir)}}, verbose=0, **kwargs)


def test_basic_tries_the_points_first_then_samples(local_dir: Path) -> None:
    points = [{"x": 0.5}, {"x": 0.25, "y": 2}, {"x": 0.125}]
    trials = tune.run_experiments(
        {"p": {"run": _loss, "config": {"x": uniform(0, 1), "y": grid_search([1, 2]), "z": choice([7, 8])},
               "num_samples": 4, "local_dir": str(local_dir)}},
        search_alg=BasicVariantGenerator(seed=0, points_to_evaluate=points), verbose=0)
    configs = [t.config for t in trials]
    # A point fixes its keys; the grid keys it leaves are expanded; other values are sampled.
    assert [(c["x"], c["y"]) for c in configs[:5]] == [(0.5, 1), (0.5, 2), (0.25, 2), (0.125, 1), (0.125, 2)]
    assert len(configs) == 7 and all(c["z"] in (7, 8) for c in configs)
    assert all(c["x"] not in (0.5, 0.25, 0.125) for c in configs[5:])
    assert trials[2].experiment_tag.startswith("2_x=0.25,y=2")


def test_basic_points_beyond_num_samples_all_run_and_bad_points_fail_first(local_dir: Path) -> None:
    search = BasicVariantGenerator(points_to_evaluate=[{"x": 0.1}, {"x": 0.2}, {"x": 0.3}])
    trials = _run(_loss, {"x": uniform(0, 1)}, local_dir, num_samples=2, search_alg=search)
    assert sorted(t.config["x"] for t in trials) == [0.1, 0.2, 0.3]
    with pytest.raises(TuneError, match=r"points_to_evaluate\[0\]: `config.x` = 2 is outside"):
        _run(_loss, {"x": uniform(0, 1)}, local_dir, name="bad",
             search_alg=BasicVariantGenerator(points_to_evaluate=[{"x": 2}]))
    assert not (local_dir / "bad").exists()  # Nothing written for a run that could not start.


# --- ConcurrencyLimiter and late suggestions ----------------------------------------------------
class Recording(Searcher):
    """Suggests x = 0, 1, 2, ...; records, per suggestion, how many trials had completed."""

    def __init__(self) -> None:
        self.count = 0
        self.completed_at_suggest: list[int] = []
        self.completed: list[str] = []
        self.live: set[str] = set()
        self.most_live = 0

    def suggest(self, trial_id: str) -> dict[str, Any]:
        self.completed_at_suggest.append(len(self.completed))
        self.live.add(trial_id)
        self.most_live = max(self.most_live, len(self.live))
        self.count += 1
        return {"x": self.count - 1}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        self.completed.append(trial_id)
        self.live.discard(trial_id)

    def save(self) -> dict[str, Any]:
        return {"count": self.count}

    def restore(self, state: Any) -> None:
        self.count = state["count"]


def _sleepy(config: dict[str, Any], reporter: Any) -> None:
    started = time.time()
    time.sleep(0.2)
    reporter(loss=config["x"], started=started)


def test_on_one_cpu_a_searcher_runs_as_a_sequential_loop(local_dir: Path) -> None:
    searcher = Recording()
    _run(_loss, {"x": uniform(0, 1)}, local_dir, num_samples=5, search_alg=searcher, executor_config={"num_cpus": 1})
    assert searcher.completed_at_suggest == [0, 1, 2, 3, 4]


def test_a_searcher_is_asked_late_and_fills_every_slot(local_dir: Path) -> None:
    searcher = Recording()
    trials = _run(_sleepy, {"x": uniform(0, 1)}, local_dir, num_samples=8, search_alg=searcher, metric="loss",
                  mode="min", executor_config={"num_cpus": 2})
    assert len(trials) == 8
    # Two slots: only the 2 running were suggested before any result came back; each later
    # suggestion came once a slot was free, so it knew every trial but the one still running...
    assert searcher.completed_at_suggest[:3] == [0, 0, 1]
    assert all(done >= i - 1 for i, done in enumerate(searcher.completed_at_suggest)), searcher.completed_at_suggest
    # ...and both slots ran at once from the start (the first two trials overlap).
    starts = sorted(t.last_result["started"] for t in trials)
    assert starts[1] - starts[0] < 0.15


def test_concurrency_limiter_caps_live_trials(local_dir: Path) -> None:
    searcher = Recording()
    limited = ConcurrencyLimiter(searcher, max_concurrent=1)
    trials = _run(_sleepy, {"x": uniform(0, 1)}, local_dir, num_samples=4, search_alg=limited, metric="loss",
                  mode="min", executor_config={"num_cpus": 3})
    assert len(trials) == 4 and searcher.most_live == 1
    assert searcher.completed_at_suggest == [0, 1, 2, 3]


def test_concurrency_limiter_batches_save_restore_and_checks() -> None:
    searcher = Recording()
    limited = ConcurrencyLimiter(searcher, 2, batch=True)
    assert limited.suggest("a") == {"x": 0} and limited.suggest("b") == {"x": 1}
    assert limited.suggest("c") is None
    limited.on_trial_complete("a", {"loss": 0})
    assert limited.suggest("c") is None  # batch: waits for the whole batch
    limited.on_trial_complete("b", {"loss": 1})
    assert limited.suggest("c") == {"x": 2}
    saved = json.loads(json.dumps(limited.save()))
    again = ConcurrencyLimiter(Recording(), 2, batch=True)
    again.restore(saved)
    assert again.suggest("d") == {"x": 3} and again.suggest("e") is None
    with pytest.raises(TuneError, match=r"ConcurrencyLimiter: `max_concurrent` must be an integer >= 1, got 0"):
        ConcurrencyLimiter(Recording(), 0)
    with pytest.raises(TuneError, match=r"needs a tune_core\.interfaces\.Searcher"):
        ConcurrencyLimiter(object(), 2)  # type: ignore[arg-type]


# --- a scheduler that brings its search; a search space narrowed by a subclass --------------------
class WithoutSpace(SearchGenerator):
    def search_space(self, experiment: Any) -> dict[str, Any]:
        return {k: v for k, v in experiment.config.items() if k != "space"}


class SearchingScheduler(FIFOScheduler):
    def __init__(self) -> None:
        super().__init__()
        self.searcher = Recording()

    def search_alg(self) -> Any:
        return WithoutSpace(self.searcher)


def test_a_scheduler_brings_its_search_and_a_generator_narrows_the_space(local_dir: Path) -> None:
    scheduler = SearchingScheduler()
    trials = tune.run_experiments(
        {"s": {"run": _loss, "config": {"space": object(), "other": 1}, "num_samples": 3, "local_dir": str(local_dir)}},
        scheduler=scheduler, verbose=0)
    assert [t.config for t in trials] == [{"other": 1, "x": i} for i in range(3)]
    assert scheduler.searcher.count == 3
    # A search given to the run wins over the scheduler's.
    trials = tune.run_experiments({"t": {"run": _loss, "config": {"x": uniform(0, 1)}, "local_dir": str(local_dir)}},
                                  scheduler=SearchingScheduler(), search_alg="basic", verbose=0)
    assert 0 <= trials[0].config["x"] <= 1


def test_a_scheduler_search_alg_of_the_wrong_type_is_named(local_dir: Path) -> None:
    class Wrong(FIFOScheduler):
        def search_alg(self) -> Any:
            return {"x": 1}

    with pytest.raises(TuneError, match=r"Wrong.search_alg\(\) returned \{'x': 1\}.*None, a SearchAlgorithm or a Searcher"):
        tune.run(_loss, config={"x": 1}, scheduler=Wrong(), local_dir=str(local_dir), verbose=0)


def test_first_party_plugin_names_say_what_to_install() -> None:
    with pytest.raises(TuneError, match=r"searcher 'optuna' comes with the tune-optuna plugin, which is not "
                                        r"installed: pip install tune-optuna"):
        tune.run(_loss, config={"x": 1}, search_alg="optuna", verbose=0)
    with pytest.raises(TuneError, match=r"scheduler 'HyperOpt' comes with the tune-hyperopt plugin"):
        tune.run(_loss, config={"x": 1}, scheduler="HyperOpt", verbose=0)

