"""``check_scheduler``: each rule caught on a scheduler with that bug planted, named with the rule and
the scheduler; correct schedulers (FIFO, median stopping) report nothing."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    RUNNING,
    STOP,
    TERMINATED,
    DecisionPoint,
    TrialRunnerView,
    TrialView,
)
from tune_core.schedulers import FIFOScheduler, MedianStoppingRule
from tune_core.testing import (
    RULES,
    SchedulerReport,
    assert_scheduler_conforms,
    check_scheduler,
)


@pytest.fixture
def scheduler_check(tmp_path: Path) -> Any:
    """As the kit's own fixture (``pytest_plugins = ["tune_core.testing"]``; ``test_simulator.py``
    checks that it is brought): ``assert_scheduler_conforms`` under ``tmp_path``."""
    return lambda factory, **kwargs: assert_scheduler_conforms(factory, local_dir=str(tmp_path), **kwargs)

MEDIAN = {"grace_period": 5, "time_attr": "training_iteration"}


def check(factory: Any, tmp_path: Path, **kwargs: Any) -> SchedulerReport:
    return check_scheduler(factory, local_dir=str(tmp_path), **kwargs)


def assert_caught(report: SchedulerReport, rule: str, scheduler: str) -> None:
    assert rule in report.rules_broken, str(report)
    problems = [p for p in report.problems if p.rule == rule]
    for problem in problems:
        assert problem.rule in RULES
        assert f"[{rule}]" in str(problem) and scheduler in str(problem), str(problem)


# --- planted bugs, one rule each -------------------------------------------------------------------
class SaysMaybe(FIFOScheduler):
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        return "MAYBE" if result["training_iteration"] == 3 else CONTINUE


class ChoosesRunning(FIFOScheduler):
    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        running = runner.trials_with_status(RUNNING)
        return running[0] if running else super().choose_trial_to_run(runner)


class ChoosesWithoutResources(FIFOScheduler):
    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        pending = runner.trials_with_status("PENDING")
        return pending[0] if pending else None


class RaisesAtFive(FIFOScheduler):
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if result["training_iteration"] == 5:
            raise KeyError("planted")
        return CONTINUE


class PointAsTuple(FIFOScheduler):
    def decision_point(self, trial: TrialView) -> Any:
        return ("training_iteration", 5)


class PausesFinished(FIFOScheduler):
    """Keeps the trials it was told are complete and pauses one of them later."""

    def __init__(self) -> None:
        super().__init__()
        self.done: list[TrialView] = []

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView, result: Any) -> None:
        self.done.append(trial)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if self.done and result["training_iteration"] == 2:
            runner.pause_trial(self.done[0])
        return CONTINUE


class ChoosesFinished(FIFOScheduler):
    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        ended = runner.trials_with_status(TERMINATED)
        return ended[0] if ended else super().choose_trial_to_run(runner)


class StopsStarting(FIFOScheduler):
    """Starts ten trials, then never another."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        if self.started >= 10:
            return None
        chosen = super().choose_trial_to_run(runner)
        self.started += chosen is not None
        return chosen

    def save(self) -> Any:
        return self.started

    def restore(self, state: Any) -> None:
        self.started = state


class ForgetfulMedian(MedianStoppingRule):
    """Saves nothing: a resumed one has seen no completed trial."""

    def __init__(self) -> None:
        super().__init__(**MEDIAN)

    def save(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        pass


class UnpicklableState(FIFOScheduler):
    def save(self) -> Any:
        return {"callback": lambda: None, "lock": __import__("threading").Lock()}


class RandomOrder(FIFOScheduler):
    """Picks a pending trial with a generator seeded from the OS: a fresh order every run."""

    def __init__(self) -> None:
        super().__init__()
        self.rng = random.Random()

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        fitting = [t for t in runner.trials_with_status("PENDING", "PAUSED") if runner.has_resources(t.resources)]
        return self.rng.choice(fitting) if fitting else None


PLANTED = [
    ("invalid-decision", SaysMaybe),
    ("invalid-decision", ChoosesRunning),
    ("exception", RaisesAtFive),
    ("decision-point-type", PointAsTuple),
    ("finished-trial", PausesFinished),
    ("finished-trial", ChoosesFinished),
    ("starvation", StopsStarting),
    ("state-lost-on-restore", ForgetfulMedian),
    ("state-lost-on-restore", UnpicklableState),
    ("nondeterministic", RandomOrder),
]


@pytest.mark.parametrize(("rule", "cls"), PLANTED, ids=[f"{r}-{c.__name__}" for r, c in PLANTED])
def test_each_planted_bug_is_caught_by_name(rule: str, cls: type, tmp_path: Path) -> None:
    report = check(cls, tmp_path)
    assert not report.ok
    assert_caught(report, rule, cls.__name__)


def test_every_rule_has_a_planted_bug() -> None:
    assert {rule for rule, _ in PLANTED} == set(RULES)


def test_invalid_choice_names_what_was_wrong(tmp_path: Path) -> None:
    running = check(ChoosesRunning, tmp_path)
    assert any("which is RUNNING" in p.message for p in running.problems), str(running)
    full = check(ChoosesWithoutResources, tmp_path, workers=3, resources={"cpu": 2})
    assert_caught(full, "invalid-decision", "ChoosesWithoutResources")
    assert any("resources are not free" in p.message for p in full.problems), str(full)


def test_the_exception_is_named_with_the_method(tmp_path: Path) -> None:
    report = check(RaisesAtFive, tmp_path)
    (problem,) = [p for p in report.problems if p.rule == "exception"]
    assert "RaisesAtFive.on_trial_result() raised KeyError" in problem.message
    assert problem.count >= 40  # each time (once per trial, more for retried ones), first run only


def test_the_run_goes_on_past_a_broken_return(tmp_path: Path) -> None:
    """Bad values are replaced by safe ones: the run ends, and only the planted rule is reported."""
    assert check(SaysMaybe, tmp_path).rules_broken == ["invalid-decision"]
    assert check(StopsStarting, tmp_path).rules_broken == ["starvation"]


class ManyBugs(FIFOScheduler):
    """Three rules broken at once: all three are in one report."""

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        return 42 if result["training_iteration"] == 2 else CONTINUE  # type: ignore[return-value]

    def decision_point(self, trial: TrialView) -> Any:
        return 5

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        raise RuntimeError("planted in on_trial_error")


def test_one_report_lists_every_rule_broken(tmp_path: Path) -> None:
    report = check(ManyBugs, tmp_path, failure_rate=0.05, max_failures=0)
    assert set(report.rules_broken) == {"invalid-decision", "decision-point-type", "exception"}, str(report)
    with pytest.raises(AssertionError) as raised:
        assert_scheduler_conforms(ManyBugs, local_dir=str(tmp_path), failure_rate=0.05, max_failures=0)
    text = str(raised.value)
    for rule in ("invalid-decision", "decision-point-type", "exception"):
        assert f"[{rule}] scheduler ManyBugs" in text


def test_state_lost_says_where_the_two_differ(tmp_path: Path) -> None:
    report = check(ForgetfulMedian, tmp_path)
    (problem,) = [p for p in report.problems if p.rule == "state-lost-on-restore"]
    assert "after save()/restore()" in problem.message and "on_trial_result(trial #" in problem.message
    assert "'STOP'" in problem.message and "'CONTINUE'" in problem.message


def test_nondeterminism_names_the_first_difference(tmp_path: Path) -> None:
    report = check(RandomOrder, tmp_path)
    (problem,) = [p for p in report.problems if p.rule == "nondeterministic"]
    assert "two runs with the same seed differ at call" in problem.message


def test_global_random_is_seeded_so_a_scheduler_drawing_from_it_is_reproducible(tmp_path: Path) -> None:
    class GlobalRandom(FIFOScheduler):
        def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
            return STOP if result["training_iteration"] > 3 and random.random() < 0.1 else CONTINUE

        def save(self) -> Any:
            return None

    assert check(GlobalRandom, tmp_path).ok


# --- schedulers that conform -----------------------------------------------------------------------
def test_fifo_conforms(scheduler_check: Any) -> None:
    report = scheduler_check(FIFOScheduler)
    assert report.ok and report.runs == 3


@pytest.mark.parametrize("hard_stop", [True, False])
def test_median_stopping_conforms(scheduler_check: Any, hard_stop: bool) -> None:
    scheduler_check(lambda: MedianStoppingRule(hard_stop=hard_stop, **MEDIAN))


def test_schedulers_by_registered_name_conform(scheduler_check: Any) -> None:
    report = scheduler_check("median-stopping", seed=3)
    assert "'median-stopping'" in report.scheduler
    scheduler_check("fifo")


def test_median_stopping_minimising_with_noise_conforms(scheduler_check: Any) -> None:
    scheduler_check(lambda: MedianStoppingRule(metric="loss", mode="min", **MEDIAN), metric=None, mode=None)


class Pauser(FIFOScheduler):
    """Pauses each trial once at iteration 10 (a held decision), then resumes it: exercises pause."""

    def __init__(self) -> None:
        super().__init__()
        self.paused: set[str] = set()

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if result["training_iteration"] >= 10 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return PAUSE
        return CONTINUE

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if trial.trial_id in self.paused else DecisionPoint("training_iteration", 10)

    def save(self) -> Any:
        return sorted(self.paused)

    def restore(self, state: Any) -> None:
        self.paused = set(state)


def test_a_scheduler_that_pauses_and_resumes_conforms(scheduler_check: Any) -> None:
    scheduler_check(Pauser)


def test_check_scheduler_refuses_a_factory_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="factory"):
        check_scheduler(FIFOScheduler())  # type: ignore[arg-type]
