"""Real local-executor runs read back with VisKit's own loader, ``viskit.core.load_exps_data``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import viskit_trainables as trainables

import tune_core as tune
from tune_core.interfaces import PAUSED, PENDING, TrialScheduler

viskit_core = pytest.importorskip("viskit.core", reason="install VisKit: python -m tune_viskit.install")

LRS = [0.1, 0.2, 0.4]
STEPS = 5


def _run(local_dir: Path, spec: dict[str, Any], **kwargs: Any) -> list[Any]:
    return tune.run_experiments({"vk": {"local_dir": str(local_dir), **spec}}, verbose=0,
                                loggers=["json", "csv", "viskit"], executor_config={"num_cpus": 2},
                                **kwargs)


def _load(experiment_dir: Path) -> dict[str, Any]:
    exps = viskit_core.load_exps_data([str(experiment_dir / "viskit")])
    return {exp.params["exp_name"]: exp for exp in exps}


def test_every_trial_with_its_config_and_curves(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": trainables.curve,
                              "config": {"lr": tune.grid_search(LRS), "steps": STEPS,
                                         "model": {"width": 8}}})
    exps = _load(local_dir / "vk")
    assert sorted(exps) == sorted(Path(t.logdir).name for t in trials), "each trial once"
    for trial in trials:
        exp = exps[Path(trial.logdir).name]
        assert exp.params["lr"] == trial.config["lr"] and exp.params["steps"] == STEPS
        assert exp.flat_params["model.width"] == 8, "nested config keys flattened as VisKit does"
        assert exp.params["log_dir"] == str(trial.logdir)
        progress = exp.progress
        assert list(progress["training_iteration"]) == list(range(1, STEPS + 1))
        np.testing.assert_allclose(progress["loss"], [trial.config["lr"] / s for s in range(1, STEPS + 1)])
        grad = progress["info/grad_norm"]
        assert np.isnan(grad[0]), "a metric missing from a row is NaN, not VisKit's 0.0"
        np.testing.assert_allclose(grad[1:], [1.0 / s for s in range(2, STEPS + 1)])
        assert all(len(v) == STEPS for v in progress.values())
        # Only numbers: no column that VisKit would turn into zeros.
        for dropped in ("phase", "info/note", "date", "hostname", "trial_id", "experiment_id", "node_ip"):
            assert dropped not in progress
        assert "time_total_s" in progress and "done" in progress
    # The core's own progress.csv is untouched, text columns and config included.
    with open(Path(trials[0].logdir) / "progress.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert {"date", "hostname", "phase", "config/lr"} <= set(header)


def test_restart_from_checkpoint_logs_each_iteration_once(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": trainables.FailsOnce, "config": {"w": 2.0}, "checkpoint_freq": 2,
                                "max_failures": 1}, raise_on_failed_trial=False)
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    lines = [json.loads(x) for x in Path(trial.logdir, "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
    exp = _load(local_dir / "vk")[Path(trial.logdir).name]
    assert list(exp.progress["training_iteration"]) == [1, 2, 3, 4, 5, 6], "iteration 3 once"
    assert list(exp.progress["score"]) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]


class _StopsTheRun(TrialScheduler):
    """FIFO that raises at its ``after``-th result: the run stops there, its state kept for a resume."""

    def __init__(self, after: int) -> None:
        self.after, self.seen = after, 0

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        self.seen += 1
        if self.seen == self.after:
            raise RuntimeError("planned stop")
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return next((t for t in runner.trials_with_status(PENDING, PAUSED)
                     if runner.has_resources(t.resources)), None)


def _iterations(trial: Any) -> list[int]:
    lines = Path(trial.logdir, "result.json").read_text().splitlines()
    return [json.loads(line)["training_iteration"] for line in lines]


def test_resumed_experiment_logs_each_iteration_once(local_dir: Path) -> None:
    """A run stopped at its 4th result, resumed: the trial runs again from its last checkpoint, and the
    rows reported after that checkpoint are not doubled."""
    spec = {"run": trainables.Counting, "config": {"w": 1.0}, "checkpoint_freq": 2}
    with pytest.raises(Exception, match="planned stop"):
        _run(local_dir, spec, scheduler=_StopsTheRun(after=4))
    (trial_dir,) = [p for p in (local_dir / "vk").iterdir() if p.name.startswith("Counting")]
    first = list(_load(local_dir / "vk")[trial_dir.name].progress["training_iteration"])
    assert first and first == list(range(1, len(first) + 1))
    (trial,) = _run(local_dir, spec, resume=True)
    assert trial.status == "TERMINATED"
    exp = _load(local_dir / "vk")[Path(trial.logdir).name]
    assert list(exp.progress["training_iteration"]) == [1, 2, 3, 4, 5, 6] == _iterations(trial)
    assert list(exp.progress["score"]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
