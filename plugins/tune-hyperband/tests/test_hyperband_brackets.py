"""HyperBand's bracket math and successive halving, driven through the scheduler's own methods."""

from __future__ import annotations

import math
import pickle
import random

import pytest
from hyperband_fakes import FakeRunner, Sim
from tune_hyperband import HyperBandScheduler
from tune_hyperband.brackets import bracket_schedule

from tune_core.interfaces import CONTINUE, PAUSE, PAUSED, RUNNING, STOP, TERMINATED, DecisionPoint


def _band(max_t: int, trials: int) -> tuple[HyperBandScheduler, FakeRunner]:
    scheduler = HyperBandScheduler(metric="score", mode="max", max_t=max_t)
    runner = FakeRunner(scheduler)
    for i in range(trials):
        runner.add(f"t{i}", q=random.Random(i).random())
    return scheduler, runner


def test_a_full_band_of_max_t_81_has_five_brackets_and_143_trials() -> None:
    scheduler, runner = _band(81, 143)
    assert list(scheduler.brackets()) == [(0, 0, 5, 81), (0, 1, 8, 27), (0, 2, 15, 9), (0, 3, 34, 3),
                                          (0, 4, 81, 1)]
    text = scheduler.debug_string()
    assert text.startswith("Using HyperBand: num_stopped=0 total_brackets=5\nRound #0:\n")
    assert "Bracket(Max Size (n)=5, Milestone (r)=81, completed=0.0%): {PENDING: 5}" in text
    assert "Bracket(Max Size (n)=81, Milestone (r)=1, completed=0.0%): {PENDING: 81}" in text
    runner.add("t143")  # Beyond a full band: a new band.
    assert list(scheduler.brackets())[-1] == (1, 0, 5, 81)


def test_max_t_810_runs_from_5_trials_at_810_to_81_trials_at_10() -> None:
    scheduler, _ = _band(810, 143)
    brackets = list(scheduler.brackets())
    assert (brackets[0][2:], brackets[-1][2:]) == ((5, 810), (81, 10))
    assert [n for _, _, n, _ in brackets] == [5, 8, 15, 34, 81]


def test_schedules_follow_the_seed_rule() -> None:
    # r = min(eta * r, max_t - cumulative), cumulative += r
    assert bracket_schedule(4, 81, 3) == [(81, 1), (27, 4), (9, 13), (3, 40), (1, 81)]
    assert bracket_schedule(4, 100, 3) == [(81, 1), (27, 4), (9, 13), (3, 40), (1, 100)]
    assert bracket_schedule(1, 100, 3) == [(8, 33), (3, 100)]
    assert bracket_schedule(3, 10, 3) is None  # r0 == 0: skipped
    scheduler, _ = _band(10, 5 + 8 + 15 + 1)
    assert [(s, n, r) for _, s, n, r in scheduler.brackets()] == [(0, 5, 10), (1, 8, 3), (2, 15, 1), (0, 5, 10)]


@pytest.mark.parametrize("order", ["worst first", "best first"])
def test_last_bracket_keeps_the_best_third_at_1_4_13_40_and_its_winner_runs_to_81(order: str) -> None:
    scheduler, runner = _band(81, 143)
    last = runner.views[-81:]
    live = list(last)
    for view in live:
        runner.start(view)
    score = {v.trial_id: v.config["q"] for v in last}
    for milestone, count in [(1, 81), (4, 27), (13, 9), (40, 3)]:
        assert len(live) == count
        for view in live:
            assert scheduler.decision_point(view) == DecisionPoint("training_iteration", milestone)
            if milestone > 1:  # between milestones a trial goes on
                assert runner.report(view, training_iteration=milestone - 1, score=score[view.trial_id]) == CONTINUE
        ranked = sorted(live, key=lambda v: score[v.trial_id], reverse=order == "best first")
        decisions = [runner.report(v, training_iteration=milestone, score=score[v.trial_id]) for v in ranked]
        best = sorted(live, key=lambda v: score[v.trial_id])[-math.ceil(count / 3):]
        assert decisions[:-1] == [PAUSE] * (count - 1)
        assert decisions[-1] == (CONTINUE if order == "worst first" else STOP)
        losers = [v for v in live if v not in best]
        assert all(v.status == TERMINATED for v in losers)
        assert all(v.status in (PAUSED, RUNNING) for v in best)
        resumed = [v for v in runner.start_chosen() if v in last]
        assert sorted(v.name for v in resumed) == sorted(v.name for v in best if v is not ranked[-1])
        live = best
    (winner,) = live
    assert scheduler.decision_point(winner) == DecisionPoint("training_iteration", 81)
    assert runner.report(winner, training_iteration=80, score=1) == CONTINUE
    assert runner.report(winner, training_iteration=81, score=1) == STOP
    assert sum(v.status == TERMINATED for v in last) == 81
    assert "num_stopped=80 " in scheduler.debug_string()


def _curve(config: dict, iteration: int) -> float:
    return config["q"] * math.log1p(iteration)


def _simulate(scheduler: HyperBandScheduler, trials: int, slots: int, **sim: object) -> Sim:
    runner = Sim(scheduler, slots, _curve, **sim)  # type: ignore[arg-type]
    for i in range(trials):
        runner.add(f"t{i}", q=random.Random(i).random(), i=i)
    runner.run()
    return runner


def test_whole_bands_run_to_the_end_with_few_slots() -> None:
    runner = _simulate(HyperBandScheduler(metric="score", mode="max", max_t=27), 60, slots=3)
    assert set(runner.statuses()) == {TERMINATED}
    # max_t=27: (5 at 27); (8 at 9, 3 at 27); (15 at 3, 5 at 12, 2 at 27); (34 at 1, 12 at 4, 4 at 13,
    # 2 at 27) holding the other 32 trials; the bracket with r0 = int(27 / 81) = 0 is skipped.
    reached = sorted(max(its) for its in runner.iterations.values())
    expected = [1] * (32 - 12) + [3] * (15 - 5) + [4] * (12 - 4) + [9] * (8 - 3) + [12] * (5 - 2) \
        + [13] * (4 - 2) + [27] * (5 + 3 + 2 + 2)
    assert reached == sorted(expected)
    for name, its in runner.iterations.items():
        assert its == list(range(1, len(its) + 1)), f"{name} resumed where it paused"


def test_trials_that_finish_early_or_fail_never_deadlock_a_bracket() -> None:
    runner = _simulate(HyperBandScheduler(metric="score", mode="max", max_t=27), 60, slots=4,
                       length=lambda c: 2 if c["i"] % 3 == 0 else 10**9,
                       fails_at=lambda c: 5 if c["i"] % 7 == 1 else None)
    assert all(s in (TERMINATED, "ERROR") for s in runner.statuses())


def test_a_removed_trial_lets_its_bracket_advance() -> None:
    scheduler = HyperBandScheduler(metric="score", max_t=9)
    runner = FakeRunner(scheduler)
    views = [runner.add(f"t{i}") for i in range(5 + 8)]
    bracket = views[5:]  # 8 trials to 3, then 3 to 9
    for view in bracket:
        runner.start(view)
    for score, view in enumerate(bracket[:7]):
        assert runner.report(view, training_iteration=3, score=score) == PAUSE
    runner.stop_trial(bracket[7])  # the user stops the last one: the bracket halves now
    assert [v.status for v in bracket[:7]] == [TERMINATED] * 4 + [PAUSED] * 3
    assert set(runner.start_chosen()) >= set(bracket[4:7])
    assert scheduler.decision_point(bracket[6]) == DecisionPoint("training_iteration", 9)


def test_a_bracket_not_full_waits_for_the_trials_still_to_come() -> None:
    """The runner makes trials a few at a time: a bracket whose trials all wait at the milestone
    halves only when it is full, or once the runner has no pending trial and adds none for a step."""
    scheduler = HyperBandScheduler(metric="score", max_t=9)
    runner = FakeRunner(scheduler)
    views = [runner.add(f"t{i}") for i in range(5 + 2)]
    early = views[5:]
    for view in early:
        runner.start(view)
    for score, view in enumerate(early):
        assert runner.report(view, training_iteration=3, score=score) == PAUSE
    assert set(runner.start_chosen()) == set(views[:5])  # bracket 0's trials; bracket 1 waits
    late = runner.add("t7")  # joins bracket 1, and is decided at its first milestone too
    assert scheduler.decision_point(late) == DecisionPoint("training_iteration", 3)
    assert runner.start_chosen() == [late]  # the early ones still wait: a trial was added
    assert runner.report(late, training_iteration=3, score=10) == PAUSE
    # No trial pending, none added since the last step ended: n = ceil(8/3) = 3 go on.
    assert set(runner.start_chosen()) == {*early, late}
    assert scheduler.decision_point(late) == DecisionPoint("training_iteration", 9)
    assert runner.add("t8") not in early and list(scheduler.brackets())[-1][1] == 2  # a closed bracket


def test_nan_or_missing_metric_ranks_last() -> None:
    scheduler = HyperBandScheduler(metric="score", mode="min", max_t=9)
    runner = FakeRunner(scheduler)
    views = [runner.add(f"t{i}") for i in range(5 + 8)]
    bracket = views[5:]
    for view in bracket:
        runner.start(view)
    for i, view in enumerate(bracket[:5]):
        runner.report(view, training_iteration=3, score=float(i))
    runner.report(bracket[5], training_iteration=3, score=float("nan"))
    runner.report(bracket[6], training_iteration=3)
    assert runner.report(bracket[7], training_iteration=3, score=-1.0) == CONTINUE
    kept = {v.name for v in bracket if v.status != TERMINATED}
    assert kept == {bracket[7].name, bracket[0].name, bracket[1].name}


def test_save_restore_mid_run_gives_the_same_outcome() -> None:
    def make() -> HyperBandScheduler:
        return HyperBandScheduler(metric="score", mode="max", max_t=27)

    reference = _simulate(make(), 40, slots=3)
    first = make()
    runner = Sim(first, 3, _curve)
    for i in range(40):
        runner.add(f"t{i}", q=random.Random(i).random(), i=i)
    for _ in range(25):
        runner.tick()
    second = make()
    second.restore(pickle.loads(pickle.dumps(first.save())))
    second = pickle.loads(pickle.dumps(second))  # the scheduler object itself is pickled for resume
    runner.scheduler = second
    for view in runner.views:
        second.on_trial_add(runner, view)
    runner.run()
    assert runner.iterations == reference.iterations
    assert first.debug_string() != second.debug_string()
    assert second.debug_string() == reference.scheduler.debug_string()


def test_decision_points_hold_each_trial_at_its_milestone() -> None:
    scheduler = HyperBandScheduler(metric="score", max_t=81, time_attr="time_total_s")
    runner = FakeRunner(scheduler)
    view = runner.add("t0")
    assert scheduler.decision_point(view) == DecisionPoint("time_total_s", 81)
    runner.start(view)
    assert runner.report(view, time_total_s=80.5, score=1) == CONTINUE
    assert runner.report(view, time_total_s=81.2, score=1) == STOP
    assert view.status == TERMINATED and view.status != RUNNING
