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
from tune_core.executors.thread import ThreadExecutor
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    PAUSED,
    PENDING,
    TERMINATED,
    DecisionPoint,
    Searcher,
    TrialFinished,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_core.search import BasicVariantGenerator


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


# --- what the runner does at the edges ----------------------------------------------------------


class PauseOnce(FirstFit):
    """PAUSE on the first result past ``at`` (no decision point: the trial streams on meanwhile)."""

    def __init__(self, at: int) -> None:
        self.at, self.paused = at, False

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if not self.paused and result["training_iteration"] >= self.at:
            self.paused = True
            return PAUSE
        return CONTINUE


class Fast(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0

    def _train(self) -> dict[str, Any]:
        self.value += 1
        return {"value": self.value, "done": self.value >= self.config["n"]}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_pause_on_a_streamed_result_loses_nothing(local_dir: Path, executor: str) -> None:
    """The trial runs on until it has checkpointed; every result it reports until then is logged once."""
    (trial,) = tune.run_experiments(
        {"fast": {"run": Fast, "config": {"n": 3000}, "local_dir": str(local_dir)}},
        scheduler=PauseOnce(at=3), executor=executor, verbose=0)
    assert trial.status == TERMINATED
    assert [r["training_iteration"] for r in _lines(trial)] == list(range(1, 3001))
    assert [r["value"] for r in _lines(trial)] == list(range(1, 3001))


def test_trainables_sharing_a_name_each_run_their_own(local_dir: Path) -> None:
    trials = tune.run_experiments(
        {"one": {"run": lambda config, reporter: reporter(v=1), "local_dir": str(local_dir)},
         "two": {"run": lambda config, reporter: reporter(v=2), "local_dir": str(local_dir)}},
        executor_config={"num_cpus": 1}, verbose=0)
    assert [(t.experiment_name, t.last_result["v"]) for t in trials] == [("one", 1), ("two", 2)]


class Recorder(Searcher):
    """Suggests ``x`` = 0, 1; remembers what it heard."""

    def __init__(self) -> None:
        self.completed: list[tuple[float, bool]] = []
        self.given = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self.given += 1
        return {"x": self.given - 1, "step": 1, "n": 5} if self.given <= 2 else self.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        self.completed.append(((result or {}).get("training_iteration", 0), error))


class StopThePaused(FirstFit):
    """Pauses trial x=0 at iteration 2; when x=1 reports, stops the paused one."""

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return DecisionPoint("training_iteration", 2) if trial.config["x"] == 0 else None

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.config["x"] == 0:
            return PAUSE
        for other in runner.trials_with_status(PAUSED):
            runner.stop_trial(other)
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return next((t for t in runner.trials_with_status(PENDING) if runner.has_resources(t.resources)), None)


def test_the_searcher_hears_of_a_paused_trial_that_is_stopped(local_dir: Path) -> None:
    searcher = Recorder()
    trials = tune.run_experiments({"s": {"run": Stepper, "local_dir": str(local_dir), "num_samples": 5}},
                                  scheduler=StopThePaused(), search_alg=searcher, executor="thread",
                                  executor_config={"num_cpus": 1}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED, TERMINATED]
    assert sorted(searcher.completed) == [(2, False), (5, False)]


def flaky_stepper(config: dict[str, Any], reporter: Any) -> None:
    """Counts with ``save_checkpoint`` every iteration; after a restart from another trial's
    checkpoint (``step`` 10), it fails once at ``fail_at``."""
    loaded = tune.load_checkpoint()
    value, iteration = (loaded["value"], loaded["iteration"]) if loaded else (0, 0)
    while iteration < config["n"]:
        iteration += 1
        value += config["step"]
        reporter(value=value)
        if (config["name"] == "high" and iteration <= 4) or config["step"] == 10:
            tune.save_checkpoint({"value": value, "iteration": iteration})
        mark = Path(config["mark"])
        if config["step"] == 10 and iteration == config["fail_at"] and not mark.exists():
            mark.write_text("x")
            raise RuntimeError("fails once after the exploit")


class ExploitLate(FirstFit):
    """``low`` waits at iteration 5; it then continues from ``high``'s checkpoint at 4."""

    def __init__(self) -> None:
        self.done = False

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if self.done or trial.config["name"] == "high" else DecisionPoint("training_iteration", 5)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.config["name"] == "low" and not self.done and result["training_iteration"] == 5:
            self.done = True
            high = next(t for t in runner.get_trials() if t.config["name"] == "high")
            runner.restart_trial(trial, from_trial=high, config={**trial.config, "step": 10})
        return CONTINUE


@pytest.mark.parametrize("executor", EXECUTORS)
def test_restart_from_an_older_checkpoint_then_a_failure(local_dir: Path, executor: str) -> None:
    """``low`` at iteration 5 continues from ``high``'s checkpoint at 4: its own result 5 goes (it
    belongs to a state it no longer has), 5 and 6 come anew; a failure after 6 restarts it from its
    checkpoint at 6, and each iteration is in the log once."""
    trials = tune.run_experiments(
        {"late": {"run": flaky_stepper, "local_dir": str(local_dir), "max_failures": 1,
                  "config": {"n": 7, "step": 1, "fail_at": 6, "mark": str(local_dir / "mark"),
                             "name": tune.grid_search(["high", "low"])}}},
        scheduler=ExploitLate(), executor=executor, executor_config={"num_cpus": 1}, verbose=0)
    high, low = trials
    assert (high.status, low.status, low.num_failures) == (TERMINATED, TERMINATED, 1)
    lines = _lines(low)
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["value"] for r in lines] == [1, 2, 3, 4, 14, 24, 34]
    assert [r["config"]["step"] for r in lines] == [1, 1, 1, 1, 10, 10, 10]


class Scripted(ThreadExecutor):
    """A thread executor that holds each trial's events back and delivers all of them in one poll,
    and that cannot pause: a PAUSE then arrives when the trial has already ended."""

    def __init__(self) -> None:
        super().__init__(num_cpus=1)
        self.held: list[Any] = []

    def pause_trial(self, trial_id: str) -> bool:
        return False

    def poll(self, timeout: float) -> list[Any]:
        self.held += super().poll(timeout)
        if any(isinstance(e, TrialFinished) for e in self.held):
            events, self.held = self.held, []
            return events
        return []


def three(config: dict[str, Any], reporter: Any) -> None:
    for i in range(3):
        reporter(i=i)


def test_a_pause_for_a_trial_that_already_ended_is_dropped(local_dir: Path) -> None:
    scheduler = PauseOnce(at=1)
    (trial,) = tune.run_experiments({"ended": {"run": three, "local_dir": str(local_dir)}},
                                    scheduler=scheduler, executor=Scripted(), verbose=0)
    assert scheduler.paused and trial.status == TERMINATED and trial.num_results == 3
    assert trial.run_count == 1, "the trial ran again although it had finished"
    assert [r["i"] for r in _lines(trial)] == [0, 1, 2]


class SameTrialTwice(BasicVariantGenerator):
    def next_trial(self) -> Any:
        trial = super().next_trial()
        if trial is not None:
            self.first = getattr(self, "first", trial)
        return self.first if trial is not None else None


def test_a_searcher_that_returns_a_trial_twice_is_named(local_dir: Path) -> None:
    with pytest.raises(tune.TuneError, match=r"SameTrialTwice.next_trial\(\) returned .*every trial id once"):
        tune.run_experiments({"twice": {"run": three, "local_dir": str(local_dir), "num_samples": 2}},
                             search_alg=SameTrialTwice(), executor="thread", verbose=0)
