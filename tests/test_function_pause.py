"""A function trainable that checkpoints itself, paused and ended where the runner says.

``should_checkpoint()`` is true after a report the scheduler asked a checkpoint for (``save_trial``
at a held result), after a report on which the trial is pausing, and after its last report with
``checkpoint_at_end``. A function that checkpoints then is paused exactly there (no iteration is
run twice) and ends with a final checkpoint. Each case runs on the real local executor (worker
processes) and on the thread executor; the trainables live here so workers import them by reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runs import result_lines as _lines
from runs import run_exp as _run

import tune_core as tune
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    PAUSED,
    PENDING,
    TERMINATED,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)

EXECUTORS = ["local", "thread"]


def counter(config: dict[str, Any], reporter: Any) -> None:
    """Counts to ``n``; checkpoints when ``should_checkpoint()`` says (``style="dir"``: into a
    directory; ``"never"``: never; ``"report-again"``: asks, but reports once more instead)."""
    path = tune.get_checkpoint()
    if path is not None and config.get("style") == "dir":
        state = json.loads(Path(path, "state.json").read_text())
    else:
        state = tune.load_checkpoint() or {"value": 0, "starts": 0}
    state["starts"] += 1
    style = config.get("style", "ask")
    while state["value"] < config["n"]:
        state["value"] += 1
        reporter(value=state["value"], starts=state["starts"])
        if style == "ask" and tune.should_checkpoint():
            tune.save_checkpoint(dict(state))
        elif style == "dir" and tune.should_checkpoint():
            with tune.checkpoint_dir() as directory:
                Path(directory, "state.json").write_text(json.dumps(state))
        elif style == "report-again" and tune.should_checkpoint():
            reporter(value=-1)  # Never sent: the trial is pausing.


class PauseAt(TrialScheduler):
    """Holds every trial at iteration ``at`` once and pauses it there; then lets it stream."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen: dict[str, list[int]] = {}
        self.paused: set[str] = set()

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if trial.trial_id in self.paused else DecisionPoint("training_iteration", self.at)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        self.seen.setdefault(trial.trial_id, []).append(result["training_iteration"])
        if result["training_iteration"] >= self.at and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return PAUSE
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return runner.first_fitting(runner.trials_with_status(PENDING, PAUSED))


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("style", ["ask", "dir"])
def test_a_held_pause_checkpoints_a_function_at_the_held_iteration(local_dir: Path, executor: str,
                                                                    style: str) -> None:
    scheduler = PauseAt(3)
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 6, "style": style}}, scheduler=scheduler,
                    executor=executor)
    assert trial.status == TERMINATED
    lines = _lines(trial)
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert [r["value"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert [r["starts"] for r in lines] == [1, 1, 1, 2, 2, 2]  # Resumed from its checkpoint at 3.
    assert scheduler.seen[trial.trial_id] == [1, 2, 3, 4, 5]  # None twice (6 is done: never shown).
    assert Path(trial.logdir, "checkpoint_000003").is_dir()


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_function_that_never_checkpoints_pauses_at_once_and_starts_over(local_dir: Path, executor: str) -> None:
    scheduler = PauseAt(3)
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 5, "style": "never"}},
                    scheduler=scheduler, executor=executor)
    assert trial.status == TERMINATED
    assert [r["value"] for r in _lines(trial)] == [1, 2, 3, 4, 5]
    assert scheduler.seen[trial.trial_id] == [1, 2, 3, 1, 2, 3, 4]  # From scratch: 1-3 come again.
    assert trial.checkpoint is None


def test_reporting_again_while_pausing_ends_the_run_without_sending_it(local_dir: Path) -> None:
    scheduler = PauseAt(2)
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 4, "style": "report-again"}},
                    scheduler=scheduler, executor="thread")
    assert trial.status == TERMINATED
    assert -1 not in [r["value"] for r in _lines(trial)]
    assert [r["training_iteration"] for r in _lines(trial)] == [1, 2, 3, 4]


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("style", ["ask", "dir"])
def test_checkpoint_at_end_gives_a_function_its_final_checkpoint(local_dir: Path, executor: str,
                                                                 style: str) -> None:
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 100, "style": style}, "checkpoint_at_end": True,
                                "stop": {"training_iteration": 4}}, executor=executor)
    assert trial.status == TERMINATED
    assert [r["training_iteration"] for r in _lines(trial)] == [1, 2, 3, 4]
    assert trial.checkpoint == str(Path(trial.logdir, "checkpoint_000004"))
    assert sorted(p.name for p in Path(trial.logdir).glob("checkpoint_*")) == ["checkpoint_000004"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_without_checkpoint_at_end_a_function_has_no_final_checkpoint(local_dir: Path, executor: str) -> None:
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 100}, "stop": {"training_iteration": 3}},
                    executor=executor)
    assert trial.checkpoint is None


class SaveAtHeld(TrialScheduler):
    """Asks for a checkpoint on the held result at ``at`` (as PBT does for its top trials)."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.asked: list[bool] = []

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if self.asked else DecisionPoint("training_iteration", self.at)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if result["training_iteration"] == self.at and not self.asked:
            self.asked.append(runner.save_trial(trial))
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return runner.first_fitting(runner.trials_with_status(PENDING, PAUSED))


@pytest.mark.parametrize("executor", EXECUTORS)
def test_save_trial_on_a_held_result_checkpoints_a_function_exactly_there(local_dir: Path, executor: str) -> None:
    scheduler = SaveAtHeld(2)
    (trial,) = _run(local_dir, {"run": counter, "config": {"n": 5}}, scheduler=scheduler, executor=executor)
    assert scheduler.asked == [True]
    assert sorted(p.name for p in Path(trial.logdir).glob("checkpoint_*")) == ["checkpoint_000002"]
