"""``restart_trial(..., tag=)``: a scheduler renames the trial it restarts (PBT's ``@perturbed[...]``).

The trial's ``experiment_tag`` and name change at once and survive an experiment resume (they are
in the state); its directory stays where it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.interfaces import (
    CONTINUE,
    PAUSED,
    PENDING,
    TERMINATED,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_core.logwriter import wait_for_pending_writes


class Step(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0

    def _train(self) -> dict[str, Any]:
        self.value += self.config["step"]
        return {"value": self.value, "done": self.iteration + 1 >= 4}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


class Retag(TrialScheduler):
    """At iteration 2, saves the trial; at 3, restarts it from itself with a new tag (and config)."""

    def __init__(self, tag: Any = "0_step=1@perturbed[step=5]") -> None:
        self.tag = tag
        self.done = False
        self.error: Exception | None = None

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if self.done else DecisionPoint("training_iteration", 2)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if result["training_iteration"] == 2 and trial.checkpoint is None:
            runner.save_trial(trial)
        elif result["training_iteration"] == 3 and not self.done:
            self.done = True
            try:
                runner.restart_trial(trial, from_trial=trial, config={"step": 5}, tag=self.tag)
            except tune.TuneError as exc:
                self.error = exc
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return runner.first_fitting(runner.trials_with_status(PENDING, PAUSED))


@pytest.mark.parametrize("executor", ["local", "thread"])
def test_restart_trial_with_a_tag_renames_the_trial(local_dir: Path, executor: str) -> None:
    (trial,) = tune.run_experiments(
        {"exp": {"run": Step, "config": {"step": tune.grid_search([1])}, "local_dir": str(local_dir)}},
        scheduler=Retag(), executor=executor, verbose=0)
    assert trial.status == TERMINATED
    assert trial.experiment_tag == "0_step=1@perturbed[step=5]"
    assert trial.name == "Step_0_step=1@perturbed[step=5]"
    assert Path(trial.logdir).name == "Step_0_step=1"  # Its directory stays.
    wait_for_pending_writes()
    state = json.loads((local_dir / "exp" / "experiment_state.json").read_text())
    assert [t["experiment_tag"] for t in state["trials"]] == ["0_step=1@perturbed[step=5]"]
    assert [json.loads(x)["value"] for x in Path(trial.logdir, "result.json").read_text().splitlines()] == [
        1, 2, 7, 12]


@pytest.mark.parametrize("bad", ["", 5])
def test_restart_trial_refuses_a_bad_tag(local_dir: Path, bad: Any) -> None:
    scheduler = Retag(tag=bad)
    (trial,) = tune.run_experiments(
        {"exp": {"run": Step, "config": {"step": 1}, "local_dir": str(local_dir)}},
        scheduler=scheduler, executor="thread", verbose=0)
    assert "restart_trial: `tag` must be a non-empty string" in str(scheduler.error)
    assert trial.experiment_tag == "0" and trial.config == {"step": 1}
