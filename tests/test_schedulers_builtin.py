"""FIFO and the median stopping rule, decision by decision (the seed's cases)."""

from __future__ import annotations

from typing import Any

import pytest

from tune_core.errors import TuneError
from tune_core.interfaces import CONTINUE, PAUSE, STOP, TrialRunnerView
from tune_core.resources import Resources
from tune_core.schedulers import FIFOScheduler, MedianStoppingRule
from tune_core.trial import PAUSED, PENDING, RUNNING, Trial


class Runner(TrialRunnerView):
    def __init__(self, trials: list[Trial], free_cpu: float = 8.0):
        self.trials = trials
        self.free_cpu = free_cpu

    def get_trials(self) -> list[Trial]:
        return self.trials

    def trials_with_status(self, *statuses: str) -> list[Trial]:
        return [t for t in self.trials if t.status in statuses]

    def has_resources(self, resources: Resources) -> bool:
        return resources.cpu <= self.free_cpu


def _result(t: float, reward: float) -> dict[str, Any]:
    return {"training_iteration": t, "episode_reward_mean": reward}


def test_median_stopping_seed_case() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=1)
    t1, t2 = Trial("f"), Trial("f")
    runner = Runner([t1, t2])
    for i in range(10):
        assert rule.on_trial_result(runner, t1, _result(i, i * 100)) == CONTINUE
    for i in range(5):
        assert rule.on_trial_result(runner, t2, _result(i, 450)) == CONTINUE
    rule.on_trial_complete(runner, t1, _result(10, 1000))
    assert rule.on_trial_result(runner, t2, _result(5, 450)) == CONTINUE
    assert rule.on_trial_result(runner, t2, _result(6, 0)) == CONTINUE
    assert rule.on_trial_result(runner, t2, _result(10, 450)) == STOP
    assert rule.debug_string() == "Using MedianStoppingRule: num_stopped=1."


def test_median_stopping_respects_grace_and_min_samples() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=5, min_samples_required=2)
    done1, done2, slow = Trial("f"), Trial("f"), Trial("f")
    runner = Runner([done1, done2, slow])
    for trial in (done1, done2):
        for i in range(1, 11):
            rule.on_trial_result(runner, trial, _result(i, 100))
        rule.on_trial_complete(runner, trial, _result(10, 100))
    assert rule.on_trial_result(runner, slow, _result(5, 1)) == CONTINUE  # within grace
    assert rule.on_trial_result(runner, slow, _result(6, 1)) == STOP


def _median_of(rewards: list[float], **options: Any) -> tuple[MedianStoppingRule, Runner]:
    """A rule that has seen one completed trial per reward, each constant over iterations 1-10."""
    rule = MedianStoppingRule(time_attr="training_iteration", **options)
    done = [Trial("f") for _ in rewards]
    runner = Runner(done)
    for trial, reward in zip(done, rewards, strict=True):
        for i in range(1, 11):
            rule.on_trial_result(runner, trial, _result(i, reward))
        rule.on_trial_complete(runner, trial, _result(10, reward))
    return rule, runner


def test_median_stopping_at_equality_continues() -> None:
    """Stopped only when strictly below the median: a trial exactly at it goes on."""
    rule, runner = _median_of([10, 20, 30], grace_period=0, min_samples_required=3)
    assert rule.on_trial_result(runner, Trial("f"), _result(4, 20)) == CONTINUE
    assert rule.on_trial_result(runner, Trial("f"), _result(4, 19.999)) == STOP


def test_median_stopping_at_the_grace_period_boundary() -> None:
    """No stop while ``time_attr`` <= grace_period; the first result past it may stop."""
    rule, runner = _median_of([100, 100], grace_period=3, min_samples_required=2)
    slow = Trial("f")
    assert [rule.on_trial_result(runner, slow, _result(t, 1)) for t in (1, 2, 3)] == [CONTINUE] * 3
    assert rule.on_trial_result(runner, slow, _result(3.5, 1)) == STOP


def test_median_stopping_with_exactly_min_samples_completed() -> None:
    rule, runner = _median_of([100, 100], grace_period=0, min_samples_required=2)
    assert rule.on_trial_result(runner, Trial("f"), _result(1, 0)) == STOP
    rule, runner = _median_of([100, 100], grace_period=0, min_samples_required=3)
    assert rule.on_trial_result(runner, Trial("f"), _result(1, 0)) == CONTINUE


def test_median_stopping_mode_min_at_equality() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", metric="loss", mode="min", grace_period=0,
                              min_samples_required=1)
    done, same, worse = Trial("f"), Trial("f"), Trial("f")
    runner = Runner([done, same, worse])
    rule.on_trial_complete(runner, done, {"training_iteration": 1, "loss": 0.5})
    assert rule.on_trial_result(runner, same, {"training_iteration": 1, "loss": 0.5}) == CONTINUE
    assert rule.on_trial_result(runner, worse, {"training_iteration": 1, "loss": 0.5001}) == STOP


@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("grace_period", "five", "a number >= 0"),
    ("grace_period", -1, "a number >= 0"),
    ("min_samples_required", 0, "an integer >= 1"),
    ("min_samples_required", 2.5, "an integer >= 1"),
    ("time_attr", 3, "a non-empty string"),
    ("hard_stop", "no", "true or false"),
    ("mode", "maximize", "one of"),
])
def test_median_stopping_refuses_a_wrong_option(option: str, value: Any, allowed: str) -> None:
    with pytest.raises(TuneError, match=rf"MedianStoppingRule: `{option}` must be {allowed}.*{value!r}"):
        MedianStoppingRule(**{option: value})


def test_median_stopping_names_a_metric_that_is_no_number() -> None:
    rule = MedianStoppingRule(metric="acc", mode="max")
    with pytest.raises(TuneError, match=r"'acc' must be a number.*'high' \(str\)"):
        rule.on_trial_result(Runner([]), Trial("f"), {"acc": "high", "time_total_s": 1})


def test_median_stopping_needs_enough_completed_trials() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=2)
    done, slow = Trial("f"), Trial("f")
    runner = Runner([done, slow])
    rule.on_trial_complete(runner, done, _result(1, 100))
    assert rule.on_trial_result(runner, slow, _result(5, 0)) == CONTINUE


def test_median_stopping_soft_mode_pauses() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=1,
                              hard_stop=False)
    good, bad = Trial("f"), Trial("f")
    runner = Runner([good, bad])
    rule.on_trial_complete(runner, good, _result(1, 100))
    assert rule.on_trial_result(runner, bad, _result(1, 0)) == PAUSE


def test_median_stopping_metric_and_mode_min() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", metric="loss", mode="min", grace_period=0,
                              min_samples_required=1)
    good, bad = Trial("f"), Trial("f")
    runner = Runner([good, bad])
    rule.on_trial_complete(runner, good, {"training_iteration": 1, "loss": 0.1})
    assert rule.on_trial_result(runner, bad, {"training_iteration": 1, "loss": 0.05}) == CONTINUE
    assert rule.on_trial_result(runner, bad, {"training_iteration": 2, "loss": 5.0}) == CONTINUE
    other = Trial("f")
    assert rule.on_trial_result(runner, other, {"training_iteration": 1, "loss": 5.0}) == STOP


def test_median_stopping_metric_from_run_applies() -> None:
    rule = MedianStoppingRule()
    rule.set_search_properties("acc", "max")
    assert (rule.metric, rule.mode) == ("acc", "max")
    with pytest.raises(TuneError, match="mode"):
        MedianStoppingRule(mode="maximise")


def test_median_stopping_state_round_trip() -> None:
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=1)
    t1, t2 = Trial("f"), Trial("f")
    runner = Runner([t1, t2])
    rule.on_trial_result(runner, t1, _result(1, 100))
    rule.on_trial_complete(runner, t1, _result(2, 100))
    fresh = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=1)
    fresh.restore(rule.save())
    assert fresh.on_trial_result(runner, t2, _result(1, 0)) == STOP


def test_fifo_picks_first_pending_that_fits_then_paused() -> None:
    big = Trial("f", resources=Resources(cpu=4))
    small = Trial("f", resources=Resources(cpu=1))
    paused = Trial("f", status=PAUSED)
    running = Trial("f", status=RUNNING)
    fifo = FIFOScheduler()
    assert fifo.choose_trial_to_run(Runner([running, big, small, paused], free_cpu=2)) is small
    small.status = RUNNING
    assert fifo.choose_trial_to_run(Runner([running, big, small, paused], free_cpu=2)) is paused
    assert fifo.on_trial_result(Runner([]), small, {}) == CONTINUE
    assert fifo.debug_string() == "Using FIFO scheduling algorithm."
    assert big.status == PENDING
