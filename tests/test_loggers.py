"""JSON and CSV loggers: what lands on disk, read back with json, csv and pandas."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from tune_core.loggers import CSVLogger, JsonLogger
from tune_core.trial import Trial


def make_trial(tmp_path: Path, name: str = "t0", config: dict | None = None) -> Trial:
    logdir = tmp_path / name
    logdir.mkdir(parents=True, exist_ok=True)
    return Trial(
        trainable_name="train_func",
        config={"lr": 0.1, "momentum": 0.9} if config is None else config,
        experiment_tag=f"0_{name}",
        logdir=logdir,
    )


def json_lines(trial: Trial) -> list[dict]:
    text = (Path(trial.logdir) / "result.json").read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def csv_rows(trial: Trial) -> list[list[str]]:
    with open(Path(trial.logdir) / "progress.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows, "progress.csv is empty"
    assert len({len(r) for r in rows}) == 1, f"ragged CSV: {rows}"
    return rows


def log(logger, trial: Trial, results: list[dict], restart_from: int | None = None) -> None:
    """Log ``results`` as one run; ``restart_from``: the run restarts from that iteration."""
    if restart_from is not None:
        logger.on_trial_restart(trial, restart_from)
    logger.on_trial_start(trial)
    for i, result in enumerate(results, 1):
        logger.on_trial_result(trial, {"training_iteration": i, **result})
    logger.on_trial_complete(trial)


# ---- JSON -------------------------------------------------------------------------------------------
class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


def test_params_json_sorted_indented_and_pickled(tmp_path):
    config = {"b": 2, "a": {"z": 1, "y": [1, 2]}, "fn": len}
    trial = make_trial(tmp_path, config=config)
    logger = JsonLogger()
    logger.on_trial_start(trial)
    text = (trial.logdir / "params.json").read_text()
    assert json.loads(text) == {"a": {"y": [1, 2], "z": 1}, "b": 2, "fn": str(len)}
    assert text.index('"a"') < text.index('"b"') and text.index('"y"') < text.index('"z"')
    assert "\n  " in text  # indented
    assert cloudpickle.loads((trial.logdir / "params.pkl").read_bytes()) == config
    assert not [p for p in os.listdir(trial.logdir) if p.endswith(".tmp")]


def test_params_json_replaced_atomically(tmp_path, monkeypatch):
    trial = make_trial(tmp_path, config={"lr": 1})
    JsonLogger().on_trial_start(trial)

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    trial.config = {"lr": 2}
    logger = JsonLogger()
    logger.on_trial_restart(trial, 0)
    with pytest.raises(OSError):
        logger.on_trial_start(trial)
    assert json.loads((trial.logdir / "params.json").read_text()) == {"lr": 1}


def test_result_lines_carry_config_and_coerce_values(tmp_path):
    trial = make_trial(tmp_path)
    logger = JsonLogger()
    log(
        logger,
        trial,
        [
            {"loss": math.nan, "up": math.inf, "down": -math.inf},
            {
                "f32": np.float32(1.5),
                "i64": np.int64(7),
                "b": np.bool_(True),
                "arr": np.array([1.0, np.nan]),
            },
            {"obj": Opaque(), "s": {3}, "big": 2**70, "nested": {(1, 2): "tuple key"}},
            {"bad": Unprintable(), "strided": np.arange(6.0)[::2], "half": np.float16(0.5)},
            {},
        ],
    )
    lines = json_lines(trial)
    assert len(lines) == 5
    assert all(line["config"] == {"lr": 0.1, "momentum": 0.9} for line in lines)
    assert [line["training_iteration"] for line in lines] == [1, 2, 3, 4, 5]
    assert lines[0]["loss"] is None and lines[0]["up"] is None and lines[0]["down"] is None
    assert lines[1]["f32"] == 1.5 and lines[1]["i64"] == 7 and lines[1]["b"] is True
    assert lines[1]["arr"] == [1.0, None]
    assert lines[2]["obj"] == "Opaque()" and lines[2]["s"] == [3]
    assert int(lines[2]["big"]) == 2**70 and lines[2]["nested"] == {"(1, 2)": "tuple key"}
    assert lines[3]["bad"] == "<unprintable Unprintable>"
    assert lines[3]["strided"] == [0.0, 2.0, 4.0] and lines[3]["half"] == 0.5


def test_result_that_brings_its_own_config(tmp_path):
    trial = make_trial(tmp_path)
    log(JsonLogger(), trial, [{"config": {"lr": 5}, "acc": 1}])
    assert json_lines(trial)[0]["config"] == {"lr": 5}


def test_buffered_until_flush_and_complete(tmp_path):
    trial = make_trial(tmp_path)
    logger = JsonLogger()
    logger.on_trial_start(trial)
    for i in range(3):
        logger.on_trial_result(trial, {"training_iteration": i + 1})
    logger.flush()
    assert len(json_lines(trial)) == 3
    logger.on_trial_result(trial, {"training_iteration": 4})
    logger.on_trial_complete(trial)
    assert len(json_lines(trial)) == 4
    logger.close()


def test_restart_appends_after_a_cut_line(tmp_path):
    trial = make_trial(tmp_path)
    log(JsonLogger(), trial, [{"acc": 1}, {"acc": 2}])
    with open(trial.logdir / "result.json", "ab") as fh:
        fh.write(b'{"acc": 3, "training_it')  # the driver died mid-write
    log(JsonLogger(), trial, [{"acc": 4}], restart_from=2)
    assert [line["acc"] for line in json_lines(trial)] == [1, 2, 4]


def test_config_change_is_picked_up(tmp_path):
    trial = make_trial(tmp_path)
    logger = JsonLogger()
    logger.on_trial_start(trial)
    logger.on_trial_result(trial, {"acc": 1})
    trial.config = {"lr": 0.5, "momentum": 0.9}  # e.g. a PBT exploit
    logger.on_trial_result(trial, {"acc": 2})
    logger.close()
    assert [line["config"]["lr"] for line in json_lines(trial)] == [0.1, 0.5]


# ---- CSV --------------------------------------------------------------------------------------------
def test_csv_header_and_flattening(tmp_path):
    trial = make_trial(tmp_path, config={"lr": 0.1, "model": {"layers": 3, "act": "relu"}})
    log(
        CSVLogger(),
        trial,
        [
            {"acc": 0.5, "info": {"x": 1, "y": {"z": 2}}},
            {"acc": 0.75, "info": {"x": 3, "y": {"z": 4}}},
        ],
    )
    rows = csv_rows(trial)
    header = rows[0]
    assert header[:4] == ["training_iteration", "acc", "info/x", "info/y/z"]
    assert set(header[4:]) == {"config/lr", "config/model/layers", "config/model/act"}
    df = pd.read_csv(trial.logdir / "progress.csv")
    assert df["acc"].tolist() == [0.5, 0.75]
    assert df["info/y/z"].tolist() == [2, 4]
    assert df["config/model/act"].tolist() == ["relu", "relu"]
    assert df["config/lr"].tolist() == [0.1, 0.1]


def test_csv_widens_when_a_metric_appears_late(tmp_path):
    trial = make_trial(tmp_path)
    logger = CSVLogger()
    logger.on_trial_start(trial)
    for i in range(1, 4):
        logger.on_trial_result(trial, {"training_iteration": i, "acc": i / 10})
    logger.flush()
    logger.on_trial_result(trial, {"training_iteration": 4, "acc": 0.4, "val_loss": 1.5})
    logger.on_trial_result(trial, {"training_iteration": 5, "val_loss": 1.25, "extra": {"k": "v"}})
    logger.on_trial_result(trial, {"training_iteration": 6, "acc": 0.6})
    logger.on_trial_complete(trial)
    rows = csv_rows(trial)
    assert rows[0] == [
        "training_iteration",
        "acc",
        "val_loss",
        "extra/k",
        "config/lr",
        "config/momentum",
    ]
    assert len(rows) == 7
    df = pd.read_csv(trial.logdir / "progress.csv")
    assert df["training_iteration"].tolist() == [1, 2, 3, 4, 5, 6]
    assert df["val_loss"].isna().tolist() == [True, True, True, False, False, True]
    assert df["val_loss"][3] == 1.5
    assert math.isnan(df["acc"][4])
    assert df["extra/k"].fillna("").tolist() == ["", "", "", "", "v", ""]
    assert (df["config/lr"] == 0.1).all()
    assert not [p for p in os.listdir(trial.logdir) if p.endswith(".tmp")]


def test_csv_awkward_values_stay_valid(tmp_path):
    trial = make_trial(tmp_path, config={"name": 'a,"b"\nc'})
    values = [
        {"s": 'comma, "quote"\nnewline', "n": None, "nan": math.nan, "lst": [1, 2]},
        {"s": "plain", "n": 1, "nan": 1.0, "lst": [3]},
        {"s": "ünïcode", "n": np.int64(2), "nan": np.float32(0.5), "lst": []},
        {"s": Opaque(), "n": 2**70, "nan": math.inf, "lst": (1,)},
        {"s": Unprintable(), "n": 0, "nan": 0.0, "lst": [0]},
    ]
    log(CSVLogger(), trial, values)
    rows = csv_rows(trial)
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["s"] for r in records] == [
        'comma, "quote"\nnewline',
        "plain",
        "ünïcode",
        "Opaque()",
        "<unprintable Unprintable>",
    ]
    assert records[0]["n"] == "" and records[0]["lst"] == "[1, 2]"
    assert float(records[2]["n"]) == 2 and float(records[2]["nan"]) == 0.5
    assert int(records[3]["n"]) == 2**70
    assert {r["config/name"] for r in records} == {'a,"b"\nc'}
    assert len(pd.read_csv(trial.logdir / "progress.csv")) == 5


def test_csv_restart_keeps_one_header(tmp_path):
    trial = make_trial(tmp_path)
    log(CSVLogger(), trial, [{"acc": 1}, {"acc": 2}])
    with open(trial.logdir / "progress.csv", "a") as fh:
        fh.write("3,0.")  # cut short by a crash
    logger = CSVLogger()
    logger.on_trial_restart(trial, 2)
    logger.on_trial_start(trial)
    logger.on_trial_result(trial, {"training_iteration": 3, "acc": 3})
    logger.on_trial_result(trial, {"training_iteration": 4, "acc": 4, "new": 1})
    logger.close()
    rows = csv_rows(trial)
    assert [r[0] for r in rows].count("training_iteration") == 1
    df = pd.read_csv(trial.logdir / "progress.csv")
    assert df["acc"].tolist() == [1, 2, 3, 4]
    assert df["new"].isna().tolist() == [True, True, True, False]


def test_csv_config_change_adds_columns(tmp_path):
    trial = make_trial(tmp_path, config={"lr": 0.1})
    logger = CSVLogger()
    logger.on_trial_start(trial)
    logger.on_trial_result(trial, {"acc": 1})
    trial.config = {"lr": 0.2, "wd": 0.01}
    logger.on_trial_result(trial, {"acc": 2})
    logger.close()
    df = pd.read_csv(trial.logdir / "progress.csv")
    assert df["config/lr"].tolist() == [0.1, 0.2]
    assert df["config/wd"].isna().tolist() == [True, False]


@pytest.mark.parametrize("logger_cls", [JsonLogger, CSVLogger])
def test_open_file_cap_loses_nothing(tmp_path, logger_cls):
    logger = logger_cls()
    logger.max_open_files = 2
    trials = [make_trial(tmp_path, f"t{i}") for i in range(5)]
    for t in trials:
        logger.on_trial_start(t)
    for step in range(1, 7):
        for t in trials:
            logger.on_trial_result(t, {"training_iteration": step, "acc": step * 0.5})
    assert len(logger._open) <= 2
    logger.close()
    for t in trials:
        if logger_cls is JsonLogger:
            assert [r["training_iteration"] for r in json_lines(t)] == [1, 2, 3, 4, 5, 6]
        else:
            assert pd.read_csv(t.logdir / "progress.csv")["training_iteration"].tolist() == [
                1,
                2,
                3,
                4,
                5,
                6,
            ]


def test_restart_cuts_the_logs_back_to_the_checkpoint(tmp_path):
    trial = make_trial(tmp_path)
    results = [{"acc": i} for i in range(10)]
    log(JsonLogger(), trial, results)
    log(CSVLogger(), trial, results)
    with open(trial.logdir / "result.json", "ab") as fh:
        fh.write(b'{"training_iteration": 11')
    json_logger, csv_logger = JsonLogger(), CSVLogger()
    json_logger.on_trial_restart(trial, 6)
    csv_logger.on_trial_restart(trial, 6)
    assert [r["training_iteration"] for r in json_lines(trial)] == [1, 2, 3, 4, 5, 6]
    assert pd.read_csv(trial.logdir / "progress.csv")["training_iteration"].tolist() == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    json_logger.on_trial_start(trial)
    json_logger.on_trial_result(trial, {"training_iteration": 7, "acc": 6})
    json_logger.close()
    assert len(json_lines(trial)) == 7


def test_restart_cuts_only_the_end_of_the_log(tmp_path):
    """A trial that went on from another trial's checkpoint logged iterations 1-8, then 5-6: a
    restart from its own checkpoint at 5 drops the 6 at the end, not the 6-8 logged before."""
    trial = make_trial(tmp_path)
    for logger in (JsonLogger(), CSVLogger()):
        logger.on_trial_start(trial)
        for i in [1, 2, 3, 4, 5, 6, 7, 8, 5, 6]:
            logger.on_trial_result(trial, {"training_iteration": i, "acc": i})
        logger.close()
        logger.on_trial_restart(trial, 5)
    expected = [1, 2, 3, 4, 5, 6, 7, 8, 5]
    assert [r["training_iteration"] for r in json_lines(trial)] == expected
    assert pd.read_csv(trial.logdir / "progress.csv")["training_iteration"].tolist() == expected
