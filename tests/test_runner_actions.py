"""What a scheduler does to trials through the runner view: pause, stop, save, restart from another
trial's checkpoint. Each runs on the real local executor and on the thread executor.

The exploit test pins down what an exploited trial's logs hold afterwards (docs/plugins/scheduler.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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


class Stepper(tune.Trainable):
    """``value`` grows by ``step`` per iteration; done at ``n``; checkpoints its value."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0

    def _train(self) -> dict[str, Any]:
        self.value += self.config["step"]
        return {"value": self.value, "score": self.config.get("score", 0),
                "done": self.iteration + 1 >= self.config["n"]}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


def _lines(trial: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]


EXECUTORS = ["local", "thread"]


def _run(local_dir: Path, scheduler: TrialScheduler, executor: str, config: dict[str, Any], cpus: int = 1,
         **spec: Any) -> list[Any]:
    return tune.run_experiments(
        {"actions": {"run": Stepper, "config": config, "local_dir": str(local_dir), **spec}},
        scheduler=scheduler, executor=executor, executor_config={"num_cpus": cpus}, verbose=0,
    )


class FirstFit(TrialScheduler):
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        for status in (PENDING, PAUSED):
            for trial in runner.trials_with_status(status):
                if runner.has_resources(trial.resources):
                    return trial
        return None


class Halving(FirstFit):
    """Successive halving by hand: every trial waits at ``rung``; when all are there, the best goes on,
    the others are stopped through the runner (while PAUSED, or while RUNNING for the last one)."""

    def __init__(self, rung: int, trials: int):
        self.rung, self.trials = rung, trials
        self.at_rung: dict[str, float] = {}
        self.promoted: set[str] = set()
        self.removed: list[str] = []

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if trial.trial_id in self.promoted else DecisionPoint("training_iteration", self.rung)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.trial_id in self.promoted or result["training_iteration"] < self.rung:
            return CONTINUE
        self.at_rung[trial.trial_id] = result["score"]
        if len(self.at_rung) == self.trials:
            best = max(self.at_rung, key=self.at_rung.__getitem__)
            self.promoted.add(best)
            for trial_id in self.at_rung:
                if trial_id != best:
                    loser = runner.get_trial(trial_id)
                    assert loser is not None
                    runner.stop_trial(loser)
        return PAUSE

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self.removed.append(trial.trial_id)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        for trial in runner.trials_with_status(PENDING):
            if runner.has_resources(trial.resources):
                return trial
        for trial in runner.trials_with_status(PAUSED):
            if trial.trial_id in self.promoted and runner.has_resources(trial.resources):
                return trial
        return None


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("best", [0, 2])
def test_pause_then_stop_the_losers_and_resume_the_best(local_dir: Path, executor: str, best: int) -> None:
    scores = [1, 2, 3] if best == 2 else [3, 2, 1]
    scheduler = Halving(rung=3, trials=3)
    trials = _run(local_dir, scheduler, executor,
                  {"step": 1, "n": 6, "score": tune.grid_search(scores)})
    assert all(t.status == TERMINATED for t in trials)
    winner = trials[best]
    assert [r["training_iteration"] for r in _lines(winner)] == [1, 2, 3, 4, 5, 6]
    assert [r["value"] for r in _lines(winner)] == [1, 2, 3, 4, 5, 6]
    for loser in (t for i, t in enumerate(trials) if i != best):
        assert [r["training_iteration"] for r in _lines(loser)] == [1, 2, 3]
    assert sorted(scheduler.removed) == sorted(t.trial_id for i, t in enumerate(trials) if i != best)


class Exploiter(FirstFit):
    """When ``low`` reaches iteration 3, it continues from ``high``'s latest checkpoint with step 10."""

    def __init__(self) -> None:
        self.exploited = False

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if self.exploited else DecisionPoint("training_iteration", 3)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.config["name"] == "low" and result["training_iteration"] == 3 and not self.exploited:
            high = next(t for t in runner.get_trials() if t.config["name"] == "high")
            self.exploited = True
            runner.restart_trial(trial, from_trial=high, config={**trial.config, "step": 10})
            return PAUSE  # Ignored: the scheduler already restarted this trial itself.
        return CONTINUE


@pytest.mark.parametrize("executor", EXECUTORS)
def test_restart_from_another_trials_checkpoint(local_dir: Path, executor: str) -> None:
    """``high`` runs first (one CPU) and checkpoints at 4; ``low`` is exploited at 3."""
    trials = _run(local_dir, Exploiter(), executor,
                  {"step": 1, "n": 6, "name": tune.grid_search(["high", "low"])}, checkpoint_freq=4)
    high, low = trials
    assert (high.status, low.status) == (TERMINATED, TERMINATED)
    lines = _lines(low)
    # Its own results before the exploit stay; then the results after it, from high's checkpoint at
    # iteration 4 (value 4), with the new config: iterations 5 and 6, value +10 each.
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 5, 6]
    assert [r["value"] for r in lines] == [1, 2, 3, 14, 24]
    assert [r["config"]["step"] for r in lines] == [1, 1, 1, 10, 10]
    assert low.config["step"] == 10
    assert json.loads(Path(low.logdir, "params.json").read_text())["step"] == 10
    copied = Path(low.logdir, "checkpoint_000004")
    assert copied.is_dir() and Path(high.logdir, "checkpoint_000004").is_dir()
    assert low.checkpoint == str(copied)  # Its own copy: a failure now restarts it from there.


class Saver(FirstFit):
    def __init__(self) -> None:
        self.asked: list[bool] = []

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return DecisionPoint("training_iteration", 2) if not self.asked else None

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if result["training_iteration"] == 2 and not self.asked:
            self.asked.append(runner.save_trial(trial))
        return CONTINUE


@pytest.mark.parametrize("executor", EXECUTORS)
def test_save_trial_checkpoints_where_the_trial_is(local_dir: Path, executor: str) -> None:
    scheduler = Saver()
    (trial,) = _run(local_dir, scheduler, executor, {"step": 1, "n": 4})
    assert scheduler.asked == [True]
    assert trial.checkpoint == str(Path(trial.logdir, "checkpoint_000002"))
    assert [r["training_iteration"] for r in _lines(trial)] == [1, 2, 3, 4]


class NoSource(FirstFit):
    def __init__(self) -> None:
        self.error = ""

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        other = next(t for t in runner.get_trials() if t is not trial)
        try:
            runner.restart_trial(trial, from_trial=other)
        except tune.TuneError as exc:
            self.error = str(exc)
        return CONTINUE


def test_restart_needs_a_checkpoint_of_the_source(local_dir: Path) -> None:
    scheduler = NoSource()
    _run(local_dir, scheduler, "thread", {"step": 1, "n": 2, "x": tune.grid_search([1, 2])})
    assert "has no checkpoint to restart" in scheduler.error and "Stepper_1_x=2" in scheduler.error


def test_views_are_read_only_and_stable(local_dir: Path) -> None:
    seen: list[TrialView] = []

    class Looks(FirstFit):
        def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
            seen.append(trial)
            with pytest.raises(AttributeError):
                trial.status = "ERROR"  # type: ignore[misc]
            assert runner.get_trial(trial.trial_id) is trial
            assert trial.last_result is result and trial.location.startswith("pid=")
            return CONTINUE

    (trial,) = _run(local_dir, Looks(), "local", {"step": 1, "n": 3}, checkpoint_freq=1)
    assert len(seen) == 2 and all(view is seen[0] for view in seen)  # The last (done) skips it.
    assert seen[0].status == TERMINATED and seen[0].checkpoint is not None
    assert seen[0].checkpoint.path == trial.checkpoint and seen[0].checkpoint.iteration == 2
