"""ASHA's rungs and cutoffs, driven through the scheduler's own methods; the exact cases of the issue."""

from __future__ import annotations

import math
import pickle
import random

import pytest
from hyperband_fakes import FakeRunner, Sim
from tune_hyperband import ASHAScheduler, AsyncHyperBandScheduler

from tune_core.interfaces import CONTINUE, STOP, TERMINATED, DecisionPoint


def _asha(**options: object) -> AsyncHyperBandScheduler:
    config = {"metric": "score", "mode": "max", "grace_period": 1, "max_t": 10, "reduction_factor": 2,
              "brackets": 1, **options}
    return AsyncHyperBandScheduler(**config)  # type: ignore[arg-type]


def _t1_t2(sign: int = 1) -> tuple[AsyncHyperBandScheduler, FakeRunner]:
    """t1 reports (i, 100 i) for i = 0..9, t2 (i, 450) for i = 0..4; both complete at (10, 1000)."""
    scheduler = _asha(mode="max" if sign == 1 else "min")
    runner = FakeRunner(scheduler)
    for name, scores in (("t1", [100 * i for i in range(10)]), ("t2", [450] * 5)):
        view = runner.add(name)
        runner.start(view)
        for i, score in enumerate(scores):
            point = scheduler.decision_point(view)
            assert runner.report(view, training_iteration=i, score=sign * score) == CONTINUE, (name, i)
            assert point == DecisionPoint("training_iteration", {0: 1, 1: 1, 2: 2, 3: 4, 4: 4}.get(i, 8)) \
                or (name == "t1" and i > 8)
        runner.report(view, training_iteration=10, score=sign * 1000, done=True)
    return scheduler, runner


def test_rungs_below_max_t() -> None:
    assert _asha().rungs() == [[1, 2, 4, 8]]
    assert AsyncHyperBandScheduler().rungs() == [[10, 30, 90], [30, 90], [90]]  # the seed's defaults
    assert ASHAScheduler is AsyncHyperBandScheduler


@pytest.mark.parametrize("sign", [1, -1], ids=["max", "min"])
def test_t3_at_iteration_1_below_the_median_of_100_and_450_stops(sign: int) -> None:
    scheduler, runner = _t1_t2(sign)
    assert f"Iter 1.000: {sign * 275}" in scheduler.debug_string()  # in the metric's own sign
    t3 = runner.add("t3")
    runner.start(t3)
    assert scheduler.decision_point(t3) == DecisionPoint("training_iteration", 1)
    assert runner.report(t3, training_iteration=0, score=sign * 0) == CONTINUE
    assert runner.report(t3, training_iteration=1, score=sign * 260) == STOP  # cutoff 275
    assert t3.status == TERMINATED


@pytest.mark.parametrize("sign", [1, -1], ids=["max", "min"])
def test_t3_at_iteration_2_below_the_median_of_200_and_450_stops(sign: int) -> None:
    _, runner = _t1_t2(sign)
    t3 = runner.add("t3")
    runner.start(t3)
    assert runner.report(t3, training_iteration=2, score=sign * 260) == STOP  # cutoff 325


def test_t3_above_the_cutoffs_goes_on_and_max_t_stops_it() -> None:
    scheduler, runner = _t1_t2()
    t3 = runner.add("t3")
    runner.start(t3)
    assert runner.report(t3, training_iteration=1, score=280) == CONTINUE  # > 275
    assert scheduler.decision_point(t3) == DecisionPoint("training_iteration", 2)
    assert runner.report(t3, training_iteration=2, score=330) == CONTINUE  # > 325
    assert runner.report(t3, training_iteration=3, score=0) == CONTINUE  # not a rung
    assert runner.report(t3, training_iteration=4, score=500) == CONTINUE  # > median(400, 450)
    assert runner.report(t3, training_iteration=8, score=950) == CONTINUE  # > median(800, 1000)
    assert scheduler.decision_point(t3) == DecisionPoint("training_iteration", 10)
    assert runner.report(t3, training_iteration=10, score=0) == STOP  # max_t
    assert "num_stopped=1" in scheduler.debug_string()


def test_nan_or_missing_metric_stops_at_a_rung_with_a_cutoff_and_is_not_recorded() -> None:
    scheduler, runner = _t1_t2()
    t3, t4 = runner.add("t3"), runner.add("t4")
    runner.start(t3)
    runner.start(t4)
    assert runner.report(t3, training_iteration=1, score=float("nan")) == STOP
    assert runner.report(t4, training_iteration=1) == STOP
    assert "Iter 1.000: 275" in scheduler.debug_string()  # the cutoff is unchanged


def test_brackets_are_chosen_with_the_seeds_weights_and_a_fixed_seed() -> None:
    def assignment(seed: int) -> list[list[float]]:
        scheduler = AsyncHyperBandScheduler(metric="score", seed=seed)
        runner = FakeRunner(scheduler)
        return [scheduler.decision_point(runner.add(f"t{i}")).value for i in range(300)]  # type: ignore[union-attr]

    first = assignment(0)
    assert first == assignment(0)
    counts = {m: first.count(m) for m in (10, 30, 90)}
    # Softmax over the rung counts 3, 2, 1: weights 1, 1/e, 1/e^2 -> 66.5%, 24.5%, 9%.
    assert counts[10] > counts[30] > counts[90] > 0
    assert abs(counts[10] / 300 - 1 / (1 + math.e**-1 + math.e**-2)) < 0.08


def _curve(config: dict, iteration: int) -> float:
    return config["q"] * math.log1p(iteration)


def test_save_restore_mid_run_gives_the_same_outcome() -> None:
    def start() -> Sim:
        runner = Sim(AsyncHyperBandScheduler(metric="score", max_t=27, grace_period=1, seed=3), 4, _curve)
        for i in range(50):
            runner.add(f"t{i}", q=random.Random(i).random())
        return runner

    reference = start()
    reference.run()
    runner = start()
    for _ in range(30):
        runner.tick()
    second = pickle.loads(pickle.dumps(AsyncHyperBandScheduler(metric="score", max_t=27, grace_period=1)))
    second.restore(pickle.loads(pickle.dumps(runner.scheduler.save())))
    runner.scheduler = second
    for view in runner.views:
        second.on_trial_add(runner, view)
    runner.run()
    assert runner.iterations == reference.iterations
    stopped_early = [its for its in runner.iterations.values() if max(its) < 27]
    assert stopped_early and all(max(its) in (1, 3, 9) for its in stopped_early)
