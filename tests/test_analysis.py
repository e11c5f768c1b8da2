"""ExperimentAnalysis: reading trial directories written by the JSON logger, and picking the best."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tune_core.analysis import ExperimentAnalysis
from tune_core.errors import TuneError
from tune_core.loggers import JsonLogger
from tune_core.trial import Trial

#: lr -> accuracy curve; lr=0.2 peaks highest (0.9) but ends lower than lr=0.4.
CURVES = {0.2: [0.5, 0.9, 0.6], 0.4: [0.4, 0.7, 0.8], 0.6: [0.1, 0.2, 0.3]}


def write_experiment(root: Path) -> dict[float, Trial]:
    logger = JsonLogger()
    trials = {}
    for i, (lr, accs) in enumerate(CURVES.items()):
        trial = Trial(
            "train_func", config={"lr": lr, "opt": {"name": "sgd"}}, experiment_tag=f"{i}_lr={lr}"
        )
        trial.logdir = root / trial.name
        trial.logdir.mkdir(parents=True)
        logger.on_trial_start(trial)
        for it, acc in enumerate(accs, 1):
            result = {
                "training_iteration": it,
                "mean_accuracy": acc,
                "loss": 1 - acc,
                "trial_id": trial.trial_id,
            }
            logger.on_trial_result(trial, result)
        logger.on_trial_complete(trial)
        trials[lr] = trial
    return trials


@pytest.fixture
def exp(tmp_path: Path) -> tuple[Path, dict[float, Trial]]:
    root = tmp_path / "my_experiment"
    return root, write_experiment(root)


def test_best_config_logdir_and_id(exp):
    root, trials = exp
    analysis = ExperimentAnalysis(root)
    assert analysis.get_best_config("mean_accuracy", "max") == {"lr": 0.2, "opt": {"name": "sgd"}}
    assert analysis.get_best_logdir("mean_accuracy", "max") == str(trials[0.2].logdir)
    assert analysis.get_best_trial_id("loss", "min") == trials[0.2].trial_id
    # scope="last" compares the final results instead of each trial's best.
    assert analysis.get_best_config("mean_accuracy", "max", scope="last")["lr"] == 0.4
    assert analysis.get_best_config("mean_accuracy", "min")["lr"] == 0.6
    assert analysis.get_best_result("mean_accuracy", "max")["mean_accuracy"] == 0.9


def test_defaults_and_properties(exp):
    root, trials = exp
    analysis = ExperimentAnalysis(root, default_metric="mean_accuracy", default_mode="max")
    assert analysis.best_config["lr"] == 0.2
    assert analysis.best_logdir == str(trials[0.2].logdir)
    assert analysis.best_result["training_iteration"] == 2
    assert analysis.results[trials[0.4].trial_id]["mean_accuracy"] == 0.8
    assert set(analysis.results) == {t.trial_id for t in trials.values()}


def test_dataframe_last_and_best(exp):
    root, trials = exp
    analysis = ExperimentAnalysis(root)
    df = analysis.dataframe()
    assert len(df) == 3
    assert {"config/lr", "config/opt/name", "logdir", "trial_id", "mean_accuracy"} <= set(
        df.columns
    )
    last = dict(zip(df["config/lr"], df["mean_accuracy"], strict=True))
    assert last == {0.2: 0.6, 0.4: 0.8, 0.6: 0.3}
    best = analysis.dataframe("mean_accuracy", "max")
    assert dict(zip(best["config/lr"], best["mean_accuracy"], strict=True)) == {
        0.2: 0.9,
        0.4: 0.8,
        0.6: 0.3,
    }
    assert set(best["logdir"]) == {str(t.logdir) for t in trials.values()}


def test_trial_dataframes(exp):
    root, trials = exp
    frames = ExperimentAnalysis(root).trial_dataframes
    assert set(frames) == {str(t.logdir) for t in trials.values()}
    df = frames[str(trials[0.4].logdir)]
    assert df["mean_accuracy"].tolist() == [0.4, 0.7, 0.8]
    assert (df["config/lr"] == 0.4).all()


def test_truncated_last_line_is_tolerated(exp):
    root, trials = exp
    with open(trials[0.6].logdir / "result.json", "ab") as fh:
        fh.write(b'{"training_iteration": 4, "mean_accuracy": 0.99, "lo')
    analysis = ExperimentAnalysis(root)
    assert analysis.results[trials[0.6].trial_id]["mean_accuracy"] == 0.3
    assert len(analysis.trial_dataframes[str(trials[0.6].logdir)]) == 3
    assert analysis.get_best_config("mean_accuracy", "max")["lr"] == 0.2


def test_last_result_found_across_read_blocks(tmp_path):
    logdir = tmp_path / "exp" / "t"
    logdir.mkdir(parents=True)
    big = "x" * 100_000
    lines = [json.dumps({"training_iteration": i, "pad": big, "acc": i}) for i in range(1, 4)]
    (logdir / "result.json").write_text("\n".join(lines) + "\n" + '{"cut')
    analysis = ExperimentAnalysis(tmp_path / "exp")
    assert next(iter(analysis.results.values()))["acc"] == 3


def test_errors(exp, tmp_path):
    root, _ = exp
    analysis = ExperimentAnalysis(root)
    with pytest.raises(TuneError, match="mode must be 'min' or 'max'"):
        analysis.get_best_config("mean_accuracy", "maximum")
    with pytest.raises(TuneError, match="mode must be"):
        ExperimentAnalysis(root, default_mode="best")
    with pytest.raises(TuneError, match=r"'accuracy'.*metrics present: .*mean_accuracy"):
        analysis.get_best_config("accuracy", "max")
    with pytest.raises(TuneError, match="'accuracy'"):
        analysis.dataframe("accuracy", "max")
    with pytest.raises(TuneError, match="no metric given"):
        _ = analysis.best_config
    missing = tmp_path / "nowhere"
    with pytest.raises(TuneError, match=str(missing)):
        ExperimentAnalysis(missing)


def test_statuses_from_state_file_and_trials(exp):
    root, trials = exp
    t = trials[0.2]
    state = {
        "trials": [
            {"trial_id": t.trial_id, "status": "TERMINATED"},
            {"logdir": str(trials[0.4].logdir), "status": "ERROR"},
        ]
    }
    (root / "experiment_state.json").write_text(json.dumps(state))
    statuses = ExperimentAnalysis(root).trial_statuses
    assert statuses[t.trial_id] == "TERMINATED"
    assert statuses[trials[0.4].trial_id] == "ERROR"
    assert statuses[trials[0.6].trial_id] is None
    trials[0.6].status = "RUNNING"
    only = ExperimentAnalysis(root, trials=[trials[0.6]])
    assert only.trial_statuses == {trials[0.6].trial_id: "RUNNING"}


def test_trial_without_results_still_listed(tmp_path):
    root = tmp_path / "exp"
    trial = Trial("f", config={"lr": 1}, experiment_tag="0_lr=1", logdir=root / "f_0_lr=1")
    trial.logdir.mkdir(parents=True)
    JsonLogger().on_trial_start(trial)
    analysis = ExperimentAnalysis(root)
    df = analysis.dataframe()
    assert df["config/lr"].tolist() == [1] and df["trial_id"].tolist() == ["f_0_lr=1"]
    assert analysis.results == {}


def test_import_does_not_load_pandas():
    code = "import sys, tune_core.analysis; assert 'pandas' not in sys.modules, 'pandas imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
