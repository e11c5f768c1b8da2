"""``SimulatedExecutor`` and ``simulate``: synthetic trials on a virtual clock, through the real runner
and real schedulers; the executor contract where it applies to trials that run no code."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import tune_core
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    DecisionPoint,
    TrialRunnerView,
    TrialView,
)
from tune_core.schedulers import FIFOScheduler, MedianStoppingRule
from tune_core.testing import (
    ExecutorContract,
    SimulatedExecutor,
    SimulationStalled,
    simulate,
)
from tune_core.testing.simulator import simulated_trainable

pytest_plugins = ["pytester"]


def contract_curve(config: dict[str, Any], iteration: int) -> dict[str, Any]:
    """What the contract's trainables report, as a curve: ``i``/``value`` count iterations up to ``n``
    (0: forever), ``run`` is echoed, and ``message`` fails the second iteration with a ValueError."""
    if "message" in config and iteration == 2:
        raise ValueError(config["message"])
    n = config.get("n", 5)
    return {"i": iteration, "value": iteration, "run": config.get("run", 0), "done": bool(n) and iteration >= n}


class TestSimulatedExecutorContract(ExecutorContract):
    """The contract, run with ``contract_curve`` standing in for the contract's trainables."""

    @pytest.fixture
    def make_executor(self) -> Any:
        # No stall check: the contract polls an idle executor on purpose (``driver.quiet``).
        return lambda: SimulatedExecutor(2, contract_curve, stall_polls=None)

    # Two parts of the contract are about trial code, and a synthetic trial runs none: nothing in it
    # reads a pinned object, and it saves a checkpoint only when asked (checkpoint_freq, save_trial,
    # a pause), never on its own at every iteration. They are left out of this class, not skipped.
    test_pinned_objects_reach_the_trial = None  # type: ignore[assignment]
    test_function_checkpoints_restore = None  # type: ignore[assignment]


# --- the virtual clock -------------------------------------------------------------------------------
def test_poll_moves_the_clock_to_the_next_event_without_sleeping(tmp_path: Path) -> None:
    sim = SimulatedExecutor(2, duration=lambda config: config["cost"], stall_polls=None)
    result = simulate(FIFOScheduler(), num_trials=1, workers=2, max_t=1000,
                      config={"quality": 0.5, "rate": 0.1, "cost": tune_core.grid_search([100.0, 250.0])},
                      local_dir=str(tmp_path), executor=sim)
    assert result.real_time_s < 5
    assert result.virtual_time_s == pytest.approx(250_000.0)
    by_cost = {t.config["cost"]: t.last_result for t in result.trials}
    assert by_cost[100.0]["time_total_s"] == pytest.approx(100_000.0)
    assert by_cost[250.0]["time_this_iter_s"] == 250.0 and by_cost[250.0]["training_iteration"] == 1000


def test_auto_fields_are_filled_from_the_virtual_clock(tmp_path: Path) -> None:
    result = simulate(num_trials=3, workers=3, max_t=4, local_dir=str(tmp_path), loggers=["json"])
    for trial in result.trials:
        lines = Path(str(trial.logdir), "result.json").read_text().splitlines()
        assert len(lines) == 4
        last = trial.last_result
        assert last is not None and last["done"] is True and last["trial_id"] == trial.trial_id
        assert last["time_total_s"] == pytest.approx(4 * trial.config["cost"])
        assert last["hostname"] == "simulator" and isinstance(last["timestamp"], int) and last["date"]
        assert trial.location.startswith("simulator pid=")


def test_results_come_in_virtual_time_order_across_trials(tmp_path: Path) -> None:
    seen: list[float] = []

    class Watcher(FIFOScheduler):
        def __init__(self, sim: SimulatedExecutor) -> None:
            super().__init__()
            self.sim = sim

        def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
            seen.append(self.sim.clock())
            return CONTINUE

    sim = SimulatedExecutor(4)
    simulate(Watcher(sim), num_trials=10, workers=4, max_t=5, local_dir=str(tmp_path), executor=sim)
    assert len(seen) == 40 and seen == sorted(seen)  # A trial's last result (done) is not decided on.


def test_same_seed_same_run_and_noise_changes_with_it(tmp_path: Path) -> None:
    def scores(seed: int) -> list[float]:
        result = simulate(num_trials=5, workers=2, max_t=5, noise=0.1, seed=seed, local_dir=str(tmp_path))
        return [t.last_result["score"] for t in result.trials]  # type: ignore[index]

    assert scores(1) == scores(1)
    assert scores(1) != scores(2)


# --- decisions, pauses, checkpoints, restarts ----------------------------------------------------------
def test_median_stopping_decides_on_held_results(tmp_path: Path) -> None:
    result = simulate(MedianStoppingRule(grace_period=5, time_attr="training_iteration"), num_trials=30,
                      workers=3, max_t=20, local_dir=str(tmp_path))
    iterations = sorted(t.last_result["training_iteration"] for t in result.trials)  # type: ignore[index]
    assert iterations[0] > 5 and iterations[-1] == 20
    assert sum(i < 20 for i in iterations) >= 5  # stopped early, exactly where it was decided
    assert result.decisions > 0 and result.seconds_per_decision > 0


class PauseAtTen(FIFOScheduler):
    """Holds each trial at iteration 10 and pauses it there once; FIFO resumes it later."""

    def __init__(self) -> None:
        super().__init__()
        self.paused: set[str] = set()
        self.resumed_at: dict[str, int] = {}

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if trial.trial_id in self.paused else DecisionPoint("training_iteration", 10)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.trial_id in self.paused:
            self.resumed_at.setdefault(trial.trial_id, result["training_iteration"])
            return CONTINUE
        if result["training_iteration"] < 10:
            return CONTINUE
        self.paused.add(trial.trial_id)
        return PAUSE


def test_a_paused_trial_goes_on_from_where_it_paused(tmp_path: Path) -> None:
    scheduler = PauseAtTen()
    result = simulate(scheduler, num_trials=4, workers=2, max_t=15, local_dir=str(tmp_path))
    assert set(scheduler.resumed_at.values()) == {11}
    for trial in result.trials:
        assert trial.status == "TERMINATED" and trial.last_result["training_iteration"] == 15  # type: ignore[index]
        assert Path(str(trial.checkpoint)).name == "checkpoint_000010"


def growing(config: dict[str, Any], iteration: int, last: dict[str, Any] | None) -> dict[str, float]:
    """A curve that builds on its own past: score grows by ``gain`` per iteration."""
    return {"score": (last["score"] if last else 0.0) + config["gain"]}


class Exploit(FIFOScheduler):
    """At iteration 5 of the weaker trial, saves the stronger one and restarts the weaker from it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = False
        self.first_after: dict[str, Any] | None = None
        self.done = False

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return None if self.done else DecisionPoint("training_iteration", 5)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        weak, strong = sorted(runner.get_trials(), key=lambda t: t.config["gain"])
        if self.done and trial is weak and self.first_after is None:
            self.first_after = dict(result)
        if result["training_iteration"] < 5:
            return CONTINUE
        if trial is strong and not self.asked:
            self.asked = runner.save_trial(strong)
        if trial is weak and strong.checkpoint is not None and not self.done:
            self.done = True
            runner.restart_trial(weak, from_trial=strong, config={"gain": 0.5})
        return CONTINUE


def test_restart_from_another_trials_checkpoint_continues_from_its_iteration(tmp_path: Path) -> None:
    scheduler = Exploit()
    sim = SimulatedExecutor(2, growing, duration=lambda config: 1.0 if config["gain"] > 1 else 1.5)
    simulate(scheduler, num_trials=1, workers=2, max_t=12, executor=sim, local_dir=str(tmp_path),
             config={"gain": tune_core.grid_search([0.1, 2.0])})
    first = scheduler.first_after
    assert first is not None
    copied_at = first["training_iteration"] - 1
    assert copied_at >= 5
    # The strong trial's score at the copied iteration, plus one step of the new gain.
    assert first["score"] == pytest.approx(2.0 * copied_at + 0.5)


def test_failures_are_retried_from_the_latest_checkpoint(tmp_path: Path) -> None:
    result = simulate(num_trials=20, workers=4, max_t=20, failure_rate=0.05, max_failures=100,
                      checkpoint_freq=3, local_dir=str(tmp_path))
    assert all(t.status == "TERMINATED" for t in result.trials)
    assert sum(t.num_failures for t in result.trials) > 0
    assert all(t.last_result["training_iteration"] == 20 for t in result.trials)  # type: ignore[index]
    errors = list(Path(tmp_path).rglob("error_1.txt"))
    assert errors and "SimulatedFailure" in errors[0].read_text()


def test_failures_without_retries_end_in_error_and_are_seeded(tmp_path: Path) -> None:
    def failed(seed: int) -> list[str]:
        result = simulate(num_trials=20, workers=4, max_t=20, failure_rate=0.05, seed=seed, local_dir=str(tmp_path))
        return [t.config["quality"] for t in result.trials if t.status == "ERROR"]  # type: ignore[misc]

    assert failed(7) and failed(7) == failed(7)


def test_a_curve_that_raises_fails_its_trial_with_the_traceback(tmp_path: Path) -> None:
    def broken(config: dict[str, Any], iteration: int) -> dict[str, float]:
        if iteration == 3:
            raise ZeroDivisionError("planted")
        return {"score": 1.0}

    result = simulate(num_trials=1, workers=1, max_t=5, curve=broken, local_dir=str(tmp_path))
    (trial,) = result.trials
    assert trial.status == "ERROR" and trial.error_message == "ZeroDivisionError: planted"


def test_a_stop_criterion_on_a_metric_the_curve_lacks_fails_the_trial(tmp_path: Path) -> None:
    trials = tune_core.run_experiments(
        {"s": {"run": simulated_trainable, "stop": {"acc": 1}, "local_dir": str(tmp_path),
               "config": {"quality": 1.0, "rate": 0.1}}},
        executor=SimulatedExecutor(1), verbose=0, raise_on_failed_trial=False, loggers=[],
    )
    (trial,) = trials
    assert trial.status == "ERROR" and "stop criterion 'acc'" in str(trial.error_message)


def test_a_scheduler_that_never_starts_a_trial_stalls_the_simulation(tmp_path: Path) -> None:
    class Never(FIFOScheduler):
        def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
            return None

    with pytest.raises(SimulationStalled, match="choose_trial_to_run returns None"):
        simulate(Never(), num_trials=2, workers=2, max_t=3, local_dir=str(tmp_path))


def test_executor_arguments_are_checked() -> None:
    with pytest.raises(tune_core.TuneError, match="workers"):
        SimulatedExecutor(0)
    with pytest.raises(tune_core.TuneError, match="failure_rate"):
        SimulatedExecutor(2, failure_rate=1.5)


# --- scale and the fixtures ----------------------------------------------------------------------------
def test_a_thousand_trials_take_about_a_second(tmp_path: Path) -> None:
    start = time.perf_counter()
    result = simulate("median-stopping", scheduler_config={"grace_period": 3, "time_attr": "training_iteration"},
                      num_trials=1000, workers=100, max_t=10, local_dir=str(tmp_path))
    assert len(result.trials) == 1000 and result.by_status() == {"TERMINATED": 1000}
    assert time.perf_counter() - start < 20  # ~1 s on 2 cores; generous for a busy machine


def test_pytest_plugins_brings_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tune_core.testing"]\n')
    pytester.makepyfile(test_author=textwrap.dedent("""
        from tune_core.schedulers import FIFOScheduler

        from tune_core.testing import SimulationResult

        def test_simulated(simulator, tmp_path):
            result = simulator("fifo", num_trials=4, workers=2, max_t=3)
            assert isinstance(result, SimulationResult) and result.results == 12
            assert (tmp_path / "simulated").is_dir()

        def test_conforms(scheduler_check):
            assert scheduler_check(FIFOScheduler, num_trials=8, max_t=5).ok
    """))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)



# --- what the runner asks at scale (its per-step costs) --------------------------------------------------
class Counting(FIFOScheduler):
    """FIFO, counting its calls and checking that waiting trials come in the order they were added."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = self.nones = 0
        self.added: list[str] = []

    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self.added.append(trial.trial_id)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        waiting = [t.trial_id for t in runner.trials_with_status("PENDING", "PAUSED")]
        assert waiting == sorted(waiting, key=self.added.index)
        self.calls += 1
        chosen = super().choose_trial_to_run(runner)
        self.nones += chosen is None
        return chosen


def test_choose_is_not_asked_while_no_waiting_trial_could_start(tmp_path: Path) -> None:
    scheduler = Counting()
    simulate(scheduler, num_trials=300, workers=10, max_t=5, local_dir=str(tmp_path))
    assert scheduler.calls - scheduler.nones == 300
    assert scheduler.nones <= 5  # Not once per step: every slot is taken, or nothing waits.


def test_waiting_trials_stay_in_the_order_they_were_added_after_pauses_and_retries(tmp_path: Path) -> None:
    class PausingCounter(Counting, PauseAtTen):
        def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
            Counting.on_trial_add(self, runner, trial)

    scheduler = PausingCounter()
    result = simulate(scheduler, num_trials=30, workers=3, max_t=12, failure_rate=0.03, max_failures=50,
                      local_dir=str(tmp_path))
    assert result.by_status() == {"TERMINATED": 30} and scheduler.calls > 30
