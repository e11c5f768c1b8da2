"""Bad input: each a clear TuneError naming the key, the value and what is allowed; nothing written."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trainables as T

import tune_core as tune
from tune_core.experiment import Experiment, load_run_file, load_spec_file


def _run(spec: dict[str, Any], local_dir: Path, **kwargs: Any) -> Any:
    return tune.run_experiments({"exp": {"local_dir": str(local_dir), **spec}}, verbose=0,
                                executor_config={"num_cpus": 2}, **kwargs)


def _nothing_written(local_dir: Path) -> None:
    assert not (local_dir / "exp").exists() or not any((local_dir / "exp").iterdir())


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"config": {}}, "missing required key `run`"),
        ({"run": "no_such_trainable"}, r"unknown trainable .*'no_such_trainable'; available: .*counting_reg"),
        ({"run": "counting_reg", "stopp": {}}, r"unknown spec key 'stopp' \(did you mean 'stop'\?\)"),
        ({"run": "counting_reg", "num_samples": 0}, r"`num_samples` must be an integer >= 1, got 0"),
        ({"run": "counting_reg", "repeat": -1}, r"`num_samples` must be an integer >= 1"),
        ({"run": "counting_reg", "stop": {"score": "high"}}, r"`stop.score` must be a number.*'high'"),
        ({"run": "counting_reg", "resources": {"cpu": -1}}, r"`exp.resources.cpu` must be a non-negative number, got -1"),
        ({"run": "counting_reg", "resources": {"cpu": 1, "gpu": "one"}}, r"resources.gpu"),
        ({"run": "counting_reg", "resources": {"cpu": 1, "9bad": 1}}, r"unknown resource '9bad'"),
        ({"run": "counting_reg", "config": {"lock": threading.Lock()}}, r"`config.lock` cannot be pickled"),
        ({"run": "counting_reg", "config": {"a": {"b": threading.Lock()}}}, r"`config.a.b` cannot be pickled"),
        ({"run": "counting_reg", "config": {"x": tune.grid_search([1, 2])}, "checkpoint_freq": -2},
         r"`checkpoint_freq` must be an integer >= 0"),
    ],
)
def test_bad_spec(spec: dict[str, Any], match: str, local_dir: Path) -> None:
    tune.register_trainable("counting_reg", T.counting)
    with pytest.raises(tune.TuneError, match=match):
        _run(spec, local_dir)
    _nothing_written(local_dir)


def test_grid_search_of_non_list() -> None:
    with pytest.raises(tune.TuneError, match="list"):
        tune.grid_search(5)  # type: ignore[arg-type]


def test_bad_trainable_types() -> None:
    class NotATrainable:
        pass

    with pytest.raises(tune.TuneError, match=r"does not subclass tune_core\.Trainable"):
        tune.register_trainable("x", NotATrainable)
    with pytest.raises(tune.TuneError, match=r"Trainable instance"):
        tune.register_trainable("x", T.Counter({}))
    with pytest.raises(tune.TuneError, match="must be a function"):
        tune.register_trainable("x", 42)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheduler": "no-such"}, r"unknown scheduler 'no-such'; available: .*fifo.*median-stopping"),
        ({"search_alg": "no-such"}, r"unknown searcher 'no-such'; available: .*basic"),
        ({"executor": "no-such"}, r"unknown executor 'no-such'; available: .*local"),
        ({"loggers": ["no-such"]}, r"unknown logger 'no-such'; available: .*csv.*json"),
        ({"scheduler": "median-stopping", "scheduler_config": {"grace": 1}}, r"grace"),
        ({"mode": "maximum"}, r"`mode` must be 'min' or 'max'"),
    ],
)
def test_bad_component_names(kwargs: dict[str, Any], match: str, local_dir: Path) -> None:
    with pytest.raises(tune.TuneError, match=match):
        _run({"run": T.counting}, local_dir, **kwargs)
    _nothing_written(local_dir)


def test_unwritable_local_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(tune.TuneError, match=r"cannot write results to `local_dir` .*file"):
        _run({"run": T.counting}, blocker / "sub")


def test_experiments_of_wrong_type() -> None:
    with pytest.raises(tune.TuneError, match="dict"):
        tune.run_experiments("not an experiment", verbose=0)


def test_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(tune.TuneError, match="cannot read experiment file"):
        load_spec_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed")
    with pytest.raises(tune.TuneError, match="cannot parse"):
        load_spec_file(bad)


def test_run_file_holds_experiments_and_run_options(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("experiments:\n  run: m:f\n")  # An experiment that happens to be named "experiments".
    assert load_run_file(plain) == ({"experiments": {"run": "m:f"}}, {})
    full = tmp_path / "full.yaml"
    full.write_text("scheduler: asha\nscheduler_config: {grace_period: 2}\nmetric: score\nmode: max\n"
                    "experiments:\n  e: {run: 'm:f'}\n")
    assert load_run_file(full) == ({"e": {"run": "m:f"}}, {"scheduler": "asha", "scheduler_config": {"grace_period": 2},
                                                          "metric": "score", "mode": "max"})
    assert load_spec_file(full) == {"e": {"run": "m:f"}}
    typo = tmp_path / "typo.yaml"
    typo.write_text("sheduler: asha\nexperiments:\n  e: {run: 'm:f'}\n")
    with pytest.raises(tune.TuneError, match=r"unknown run option 'sheduler' .*did you mean 'scheduler'"):
        load_run_file(typo)
    empty = tmp_path / "empty.yaml"
    empty.write_text("metric: score\nexperiments: {}\n")
    with pytest.raises(tune.TuneError, match="`experiments` is empty"):
        load_run_file(empty)


def test_experiment_object_and_aliases(local_dir: Path) -> None:
    exp = Experiment("e", run=T.counting, trial_resources={"cpu": 1}, repeat=2, local_dir=str(local_dir))
    assert exp.num_samples == 2 and exp.resources is not None and exp.resources.cpu == 1
    trials = tune.run_experiments(exp, verbose=0, executor_config={"num_cpus": 2})
    assert len(trials) == 2
