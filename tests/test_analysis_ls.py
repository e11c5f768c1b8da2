"""``tune-core ls``: sorting, filtering, columns, export and its errors, on a real experiment directory."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from tune_core.cli import ls
from tune_core.errors import TuneError
from tune_core.loggers import JsonLogger
from tune_core.trial import Trial

ACC = {0.1: 0.5, 0.2: 0.9, 0.3: 0.7, 0.4: 0.2}


@pytest.fixture
def exp(tmp_path: Path) -> Path:
    root = tmp_path / "exp"
    logger = JsonLogger()
    for i, (lr, acc) in enumerate(ACC.items()):
        trial = Trial("train", config={"lr": lr, "bs": 32}, experiment_tag=f"{i}_lr={lr}")
        trial.logdir = root / trial.name
        trial.logdir.mkdir(parents=True)
        logger.on_trial_start(trial)
        for it in (1, 2):
            logger.on_trial_result(
                trial,
                {
                    "training_iteration": it,
                    "time_total_s": it * 1.5,
                    "mean_accuracy": acc * it / 2,
                    "trial_id": trial.trial_id,
                },
            )
        logger.on_trial_complete(trial)
    return root


def run_ls(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    ls.register(parser.add_subparsers())
    args = parser.parse_args(["ls", *argv])
    return args.func(args)


def body(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def test_plain_table_defaults(exp, capsys):
    assert run_ls(str(exp)) == 0
    rows = body(capsys.readouterr().out)
    assert rows[0] == [
        "trial_name",
        "status",
        "config/lr",
        "training_iteration",
        "time_total_s",
        "mean_accuracy",
    ]
    assert [r[0] for r in rows[1:]] == [f"train_{i}_lr={lr}" for i, lr in enumerate(ACC)]
    assert all(r[1] == "-" for r in rows[1:])
    assert rows[2][2:] == ["0.2", "2", "3", "0.9"]


def test_sort_desc_limit_columns(exp, capsys):
    run_ls(
        str(exp),
        "--sort",
        "mean_accuracy",
        "--desc",
        "--limit",
        "2",
        "--columns",
        "lr,mean_accuracy",
    )
    rows = body(capsys.readouterr().out)
    assert rows[0] == ["trial_name", "status", "config/lr", "mean_accuracy"]
    assert [r[2] for r in rows[1:]] == ["0.2", "0.3"]


def test_sort_by_several_columns(exp, capsys):
    run_ls(str(exp), "--sort", "bs,mean_accuracy", "--columns", "mean_accuracy")
    assert [r[2] for r in body(capsys.readouterr().out)[1:]] == ["0.2", "0.5", "0.7", "0.9"]
    run_ls(str(exp), "--sort", "bs", "--sort", "mean_accuracy", "--columns", "mean_accuracy")
    assert [r[2] for r in body(capsys.readouterr().out)[1:]] == ["0.2", "0.5", "0.7", "0.9"]


@pytest.mark.parametrize(
    ("condition", "lrs"),
    [
        ("mean_accuracy > 0.5", ["0.2", "0.3"]),
        ("mean_accuracy>=0.5", ["0.1", "0.2", "0.3"]),
        ("config/lr == 0.4", ["0.4"]),
        ("lr != 0.4", ["0.1", "0.2", "0.3"]),
        ("mean_accuracy < 0.5", ["0.4"]),
        ("trial_name == train_1_lr=0.2", ["0.2"]),
    ],
)
def test_filter(exp, capsys, condition, lrs):
    run_ls(str(exp), "--filter", condition, "--columns", "lr")
    assert [r[2] for r in body(capsys.readouterr().out)[1:]] == lrs


def test_status_from_state_file(exp, capsys):
    first = sorted(p.name for p in exp.iterdir())[0]
    (exp / "experiment_state.json").write_text(
        json.dumps({"trials": [{"logdir": str(exp / first), "status": "TERMINATED"}]})
    )
    run_ls(str(exp), "--filter", "status == TERMINATED", "--columns", "lr")
    rows = body(capsys.readouterr().out)
    assert [r[:2] for r in rows[1:]] == [[first, "TERMINATED"]]


def test_output_csv_and_json(exp, tmp_path, capsys):
    out_csv = tmp_path / "t.csv"
    run_ls(
        str(exp),
        "--sort",
        "mean_accuracy",
        "--columns",
        "lr,mean_accuracy",
        "--output",
        str(out_csv),
    )
    assert "wrote 4 trial(s)" in capsys.readouterr().out
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["config/lr"]) for r in rows] == [0.4, 0.1, 0.3, 0.2]
    out_json = tmp_path / "t.json"
    run_ls(str(exp), "--filter", "mean_accuracy > 0.6", "-o", str(out_json))
    records = json.loads(out_json.read_text())
    assert sorted(r["config/lr"] for r in records) == [0.2, 0.3]


def test_errors(exp, tmp_path):
    with pytest.raises(TuneError, match=r"unknown column 'acc'; available: .*mean_accuracy"):
        run_ls(str(exp), "--columns", "acc")
    with pytest.raises(TuneError, match="unknown column 'nope'"):
        run_ls(str(exp), "--sort", "nope")
    with pytest.raises(TuneError, match="unknown column 'acc'"):
        run_ls(str(exp), "--filter", "acc > 1")
    with pytest.raises(TuneError, match="bad --filter"):
        run_ls(str(exp), "--filter", "mean_accuracy ~ 1")
    with pytest.raises(TuneError, match=r"\.csv or \.json"):
        run_ls(str(exp), "--output", str(tmp_path / "x.txt"))
    with pytest.raises(TuneError, match="does not exist"):
        run_ls(str(tmp_path / "missing"))


def test_empty_directory_is_no_experiment(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TuneError, match=r"empty is not an experiment directory"):
        run_ls(str(tmp_path / "empty"))


def test_experiment_without_trials_yet(tmp_path, capsys):
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "experiment_state.json").write_text(json.dumps({"version": 1, "trials": []}))
    assert run_ls(str(tmp_path / "started")) == 0
    assert "no trials" in capsys.readouterr().out


def test_rich_table_on_a_terminal(exp, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    run_ls(str(exp), "--columns", "lr")
    out = capsys.readouterr().out
    assert "trial_name" in out and "train_1_lr=0.2" in out and "━" in out


def test_filter_without_spaces_and_several_filters(exp, capsys):
    run_ls(str(exp), "--filter", "mean_accuracy>0.6", "--columns", "lr")
    assert [r[2] for r in body(capsys.readouterr().out)[1:]] == ["0.2", "0.3"]
    # Every filter must hold; a value may itself hold '=' (trial names do).
    run_ls(str(exp), "--filter", "mean_accuracy>0.3", "--filter", "lr<=0.2", "--filter",
           "trial_name!=train_0_lr=0.1", "--columns", "lr")
    assert [r[2] for r in body(capsys.readouterr().out)[1:]] == ["0.2"]
    run_ls(str(exp), "--filter", "mean_accuracy>0.3", "--filter", "mean_accuracy<0.2")
    assert "no trials in" in (out := capsys.readouterr().out)
    assert out.rstrip().endswith("match mean_accuracy>0.3 and mean_accuracy<0.2")


def test_sort_desc_over_several_columns_and_spaces(exp, capsys):
    run_ls(str(exp), "--sort", "bs, mean_accuracy", "--desc", "--columns", "mean_accuracy, lr,")
    rows = body(capsys.readouterr().out)
    assert rows[0] == ["trial_name", "status", "mean_accuracy", "config/lr"]
    assert [r[2] for r in rows[1:]] == ["0.9", "0.7", "0.5", "0.2"]


def test_unknown_column_names_the_columns_there_are(exp):
    with pytest.raises(TuneError) as info:
        run_ls(str(exp), "--sort", "mean_acc")
    text = str(info.value)
    for column in ("config/lr", "config/bs", "mean_accuracy", "training_iteration", "trial_name"):
        assert column in text
    assert "did you mean 'mean_accuracy'" in text
