"""Which values become scalars, on the thread executor (fast): numbers of every kind, nested dicts,
fields that change type between results; the options by name (``logger_config``) and by instance;
config values of every kind as hparams."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tb_read
from tune_tensorboard import TensorBoardLogger, event_file

import tune_core as tune
from tune_core import TuneError


def varied(config: dict[str, Any], reporter: Any) -> None:
    """Fields that are numbers in some results and not in others, numpy scalars, values beyond float32."""
    for i in range(1, 7):
        reporter(
            loss=None if i < 3 else 1.0 / i,  # a number only from iteration 3 on
            np_f32=np.float32(i / 4), np_i64=np.int64(i), np_bool=np.bool_(i % 2),
            huge=10**400 if i == 4 else i, big_float=1e300 if i == 5 else float(i),
            nested={"a": {"b": i}, "text": "x"} if i % 2 else {"a": {"b": -i}},
            label=str(i), maybe=i if i % 3 else "three",
        )


def _run(local_dir: Path, **kwargs: Any) -> Any:
    (trial,) = tune.run_experiments(
        {"values": {"run": varied, "config": {"opt": {"lr": 0.1, "name": "sgd"}, "sizes": [1, 2], "none": None,
                                              "on": True},
                    "local_dir": str(local_dir)}},
        executor="thread", executor_config={"num_cpus": 1}, verbose=0, **kwargs)
    return trial


def test_numbers_of_every_kind(local_dir: Path) -> None:
    trial = _run(local_dir)
    got = tb_read.scalars(trial.logdir)
    steps = list(range(1, 7))
    assert [s for s, _ in got["loss"]] == [3, 4, 5, 6]
    assert got["np_f32"] == [(i, i / 4) for i in steps]
    assert got["np_i64"] == [(i, float(i)) for i in steps]
    assert got["huge"][3] == (4, math.inf) and got["big_float"][4] == (5, math.inf)
    assert got["nested/a/b"] == [(i, float(i if i % 2 else -i)) for i in steps]
    assert [s for s, _ in got["maybe"]] == [1, 2, 4, 5]
    assert not {"np_bool", "nested/text", "label"} & set(got)
    # result.json holds inf as null (and 10**400 as text): those points come from the trial itself.
    assert tb_read.check_trial(trial.logdir, lambda step: {"huge": math.inf} if step == 4 else
                               {"big_float": math.inf} if step == 5 else {}) == 6


def test_config_values_of_every_kind_as_hparams(local_dir: Path) -> None:
    trial = _run(local_dir)
    start, end = tb_read.hparams(trial.logdir)
    assert start.hparams["opt/lr"].number_value == 0.1
    assert start.hparams["opt/name"].string_value == "sgd"
    assert start.hparams["sizes"].string_value == "[1, 2]"
    assert start.hparams["none"].string_value == "None"
    assert start.hparams["on"].bool_value is True
    assert end.status == 1  # STATUS_SUCCESS


def test_exclude_by_logger_config(local_dir: Path) -> None:
    trial = _run(local_dir, logger_config={"tensorboard": {"exclude": ["pid", "nested/a", "timestamp"]}})
    got = tb_read.scalars(trial.logdir)
    assert "loss" in got and not {"pid", "nested/a/b", "timestamp"} & set(got)


def test_an_instance_without_hparams(local_dir: Path) -> None:
    trial = _run(local_dir, loggers=["json", TensorBoardLogger(hparams=False)])
    assert "loss" in tb_read.scalars(trial.logdir)
    with pytest.raises(KeyError, match="hparams"):
        tb_read.accumulator(trial.logdir).PluginTagToContent("hparams")
    assert not (Path(trial.logdir) / "progress.csv").exists()  # naming loggers replaces the default set


def test_off_when_not_named(local_dir: Path) -> None:
    trial = _run(local_dir, loggers=["json", "csv"])
    assert event_file(trial.logdir) is None


def test_bad_option_by_name_names_the_logger_option(local_dir: Path) -> None:
    with pytest.raises(TuneError, match="`exclude`"):
        _run(local_dir, logger_config={"tensorboard": {"exclude": "pid"}})
