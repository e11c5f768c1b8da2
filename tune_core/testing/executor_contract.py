"""``ExecutorContract``: the behaviour every executor owes the runner, as a pytest test class.

Subclass it in your executor's tests and provide the ``make_executor`` fixture; every test drives a
fresh executor directly, as the runner does, with real trainables from
``tune_core.testing.trainables``::

    from tune_core.testing import ExecutorContract

    class TestMyExecutor(ExecutorContract):
        @pytest.fixture
        def make_executor(self):
            return lambda: MyExecutor(num_cpus=2)

tune-core runs the same class against every executor installed (``local``, ``thread``, plugins).
What it checks: results stream in order with the auto fields, then the trial ends with exactly one
``TrialFinished``, ``TrialPaused`` or ``TrialFailed``; dict stop criteria stop a trial exactly;
a decision point holds the trial until ``continue_trial``; checkpoints reach the driver (as a path
or as bytes) after the results they include, and a trial restored from one goes on where it was; a
stopped run reports nothing more, even when the same trial starts again at once; pause and save
work when the executor says it can; failures carry the traceback; pinned objects and
``tune_core.report`` work where trials run; and a whole experiment runs end to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tune_core.checkpoints import Checkpoint, read_metadata
from tune_core.interfaces import (
    TRIAL_ENDINGS,
    DecisionPoint,
    Executor,
    ExecutorEvent,
    TrialCheckpointed,
    TrialFailed,
    TrialFinished,
    TrialLaunch,
    TrialPaused,
    TrialResults,
)
from tune_core.resources import Resources
from tune_core.storage import TrialStorage
from tune_core.testing import trainables

__all__ = ["Collected", "ExecutorContract", "ExecutorDriver"]

TIMEOUT_S = 60.0


class Collected:
    """The events of one trial, in order, and what they add up to."""

    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []

    @property
    def results(self) -> list[dict[str, Any]]:
        return [r for e in self.events if isinstance(e, TrialResults) for r in e.results]

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return [e.checkpoint for e in self.events if isinstance(e, TrialCheckpointed)]

    @property
    def ending(self) -> ExecutorEvent | None:
        endings = [e for e in self.events if isinstance(e, TRIAL_ENDINGS)]
        assert len(endings) <= 1, f"more than one ending: {endings}"
        return endings[0] if endings else None


class ExecutorDriver:
    """Drives one executor the way the runner does, keeping each trial's events apart."""

    def __init__(self, executor: Executor, root: Path):
        self.executor = executor
        self.root = root
        self.storage = TrialStorage()
        self.trials: dict[str, Collected] = {}
        self._count = 0

    def launch(self, trainable: Any, config: dict[str, Any] | None = None, *, trial_id: str | None = None,
               **fields: Any) -> TrialLaunch:
        self._count += 1
        trial_id = trial_id or f"t{self._count:07d}"
        logdir = self.root / trial_id
        launch = TrialLaunch(trial_id=trial_id, trainable_name=getattr(trainable, "__name__", "t"),
                             trainable=trainable, config=dict(config or {}), logdir=str(logdir),
                             resources=Resources(cpu=1), experiment_id="contract", **fields)
        self.storage.make_trial_dir(str(logdir))
        return launch

    def start(self, launch: TrialLaunch) -> Collected:
        collected = self.trials[launch.trial_id] = Collected()
        location = self.executor.start_trial(launch)
        assert isinstance(location, str), f"start_trial must return a str, got {location!r}"
        return collected

    def pump(self, until: Callable[[], bool], timeout: float = TIMEOUT_S, what: str = "") -> None:
        """Poll until ``until()`` holds; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or until}: {self.trials}")
            for event in self.executor.poll(0.05):
                assert event.trial_id in self.trials, f"event of an unknown trial: {event!r}"
                self.trials[event.trial_id].events.append(event)

    def run(self, launch: TrialLaunch, timeout: float = TIMEOUT_S) -> Collected:
        """Start ``launch`` and poll until its trial ends."""
        collected = self.start(launch)
        self.pump(lambda: collected.ending is not None, timeout, f"the end of {launch.trial_id}")
        return collected

    def quiet(self, seconds: float) -> list[ExecutorEvent]:
        """Everything that arrives within ``seconds``."""
        seen: list[ExecutorEvent] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            seen += self.executor.poll(0.05)
        for event in seen:
            self.trials[event.trial_id].events.append(event)
        return seen

    def keep(self, launch: TrialLaunch, checkpoint: Checkpoint) -> Checkpoint:
        """Keep a checkpoint in the driver's storage, as the runner does; the path form of it."""
        path = self.storage.store_checkpoint(launch.logdir, checkpoint)
        return Checkpoint(checkpoint.iteration, path=path)


class ExecutorContract:
    """Tests every executor must pass. Subclasses provide ``make_executor``: a fixture returning a
    function that makes a new executor with at least 2 CPUs."""

    @pytest.fixture
    def make_executor(self) -> Callable[[], Executor]:
        raise NotImplementedError("provide a make_executor fixture returning a factory of executors")

    @pytest.fixture
    def driver(self, make_executor: Callable[[], Executor], tmp_path: Path) -> Iterator[ExecutorDriver]:
        executor = make_executor()
        try:
            yield ExecutorDriver(executor, tmp_path / "experiment")
        finally:
            executor.shutdown()

    # --- capacity ----------------------------------------------------------------------------
    def test_total_resources(self, driver: ExecutorDriver) -> None:
        total = driver.executor.total_resources()
        assert isinstance(total, Resources) and total.cpu >= 2

    # --- results -----------------------------------------------------------------------------
    def test_results_stream_in_order_then_the_trial_finishes(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.count, {"n": 25})
        trial = driver.run(launch)
        assert isinstance(trial.ending, TrialFinished)
        assert trial.events[-1] is trial.ending, "nothing may follow the trial's end"
        results = trial.results
        assert [r["i"] for r in results] == list(range(1, 26))
        assert [r["training_iteration"] for r in results] == list(range(1, 26))
        assert results[-1]["done"] is True and not any(r["done"] for r in results[:-1])
        assert all(r["trial_id"] == launch.trial_id and r["experiment_id"] == "contract" for r in results)
        assert all(isinstance(r["pid"], int) and r["hostname"] for r in results)

    def test_function_reporting_through_tune_core_report(self, driver: ExecutorDriver) -> None:
        trial = driver.run(driver.launch(trainables.reports_with_api, {"n": 3}))
        assert isinstance(trial.ending, TrialFinished)
        assert [r["i"] for r in trial.results] == [1, 2, 3]

    def test_stop_criteria_stop_the_trial_exactly(self, driver: ExecutorDriver) -> None:
        trial = driver.run(driver.launch(trainables.count, {"n": 1000}, stop={"i": 7}))
        assert isinstance(trial.ending, TrialFinished)
        assert [r["i"] for r in trial.results] == list(range(1, 8))
        assert trial.results[-1]["done"] is True

    def test_decision_point_holds_the_trial_until_continued(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.count, {"n": 6}, decision_point=DecisionPoint("i", 3))
        trial = driver.start(launch)
        driver.pump(lambda: any(isinstance(e, TrialResults) and e.waiting for e in trial.events),
                    what="a held result")
        held = next(e for e in trial.events if isinstance(e, TrialResults) and e.waiting)
        assert held.results[-1]["i"] == 3
        assert [r["i"] for r in trial.results] == [1, 2, 3]
        assert not driver.quiet(0.3), "the trial went on past its decision point"
        driver.executor.continue_trial(launch.trial_id, DecisionPoint("i", 5))
        driver.pump(lambda: trial.results[-1]["i"] == 5, what="the second held result")
        assert not driver.quiet(0.2)
        driver.executor.continue_trial(launch.trial_id, None)
        driver.pump(lambda: trial.ending is not None)
        assert isinstance(trial.ending, TrialFinished)
        assert [r["i"] for r in trial.results] == [1, 2, 3, 4, 5, 6]

    def test_failure_carries_the_traceback(self, driver: ExecutorDriver) -> None:
        trial = driver.run(driver.launch(trainables.fails, {"message": "broken on purpose"}))
        assert isinstance(trial.ending, TrialFailed)
        assert "ValueError: broken on purpose" in trial.ending.error
        assert [r["i"] for r in trial.results] == [1]

    def test_pinned_objects_reach_the_trial(self, driver: ExecutorDriver) -> None:
        from tune_core.pinning import pin_in_object_store

        handle = pin_in_object_store(list(range(1000)))
        trial = driver.run(driver.launch(trainables.uses_pinned, {"handle": handle}))
        assert isinstance(trial.ending, TrialFinished), trial.events
        assert trial.results[0]["total"] == float(sum(range(1000)))

    def test_trials_run_side_by_side(self, driver: ExecutorDriver) -> None:
        launches = [driver.launch(trainables.count, {"n": 10, "sleep": 0.05}) for _ in range(2)]
        trials = [driver.start(launch) for launch in launches]
        driver.pump(lambda: all(t.ending is not None for t in trials), what="both trials")
        assert all(isinstance(t.ending, TrialFinished) for t in trials)
        firsts = [t.results[0]["timestamp"] for t in trials]
        lasts = [t.results[-1]["timestamp"] for t in trials]
        assert max(firsts) <= min(lasts), "the two trials did not overlap"

    # --- checkpoints -------------------------------------------------------------------------
    def test_class_checkpoints_reach_the_driver_and_restore(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.Counter, {"n": 5}, checkpoint_freq=2)
        trial = driver.run(launch)
        assert isinstance(trial.ending, TrialFinished)
        assert [c.iteration for c in trial.checkpoints] == [2, 4]
        for event_index, event in enumerate(trial.events):
            if isinstance(event, TrialCheckpointed):  # After the results it includes.
                before = [r for e in trial.events[:event_index] if isinstance(e, TrialResults) for r in e.results]
                assert before and before[-1]["training_iteration"] >= event.checkpoint.iteration
        kept = driver.keep(launch, trial.checkpoints[-1])
        assert kept.path is not None and read_metadata(kept.path).iteration == 4
        again = driver.launch(trainables.Counter, {"n": 7}, restore=kept)
        restored = driver.run(again)
        assert [r["value"] for r in restored.results] == [5, 6, 7]
        assert [r["training_iteration"] for r in restored.results] == [5, 6, 7]

    def test_function_checkpoints_restore(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.saves_objects, {"n": 3})
        trial = driver.run(launch)
        assert isinstance(trial.ending, TrialFinished)
        assert [c.iteration for c in trial.checkpoints] == [1, 2, 3]
        kept = driver.keep(launch, trial.checkpoints[1])
        again = driver.run(driver.launch(trainables.saves_objects, {"n": 4}, restore=kept))
        assert [(r["value"], r["training_iteration"], r["resumed"]) for r in again.results] == [
            (3, 3, True), (4, 4, True)]

    def test_checkpoint_at_end(self, driver: ExecutorDriver) -> None:
        trial = driver.run(driver.launch(trainables.Counter, {"n": 3}, checkpoint_at_end=True))
        assert [c.iteration for c in trial.checkpoints] == [3]

    # --- stop, pause, save -------------------------------------------------------------------
    def test_stopped_run_reports_nothing_more_even_when_restarted(self, driver: ExecutorDriver) -> None:
        first = driver.launch(trainables.count_forever, {"run": 1}, trial_id="same")
        trial = driver.start(first)
        driver.pump(lambda: len(trial.results) >= 3, what="some results")
        driver.executor.stop_trial("same")
        trial.events.clear()
        second = driver.launch(trainables.count, {"n": 5, "run": 2}, trial_id="same")
        restarted = driver.start(second)
        driver.pump(lambda: restarted.ending is not None, what="the new run's end")
        driver.quiet(0.3)
        assert isinstance(restarted.ending, TrialFinished)
        assert [(r["run"], r["i"]) for r in restarted.results] == [(2, i) for i in range(1, 6)]

    def test_stop_frees_the_slot(self, driver: ExecutorDriver) -> None:
        cpus = int(driver.executor.total_resources().cpu)
        long = [driver.launch(trainables.count_forever) for _ in range(cpus)]
        trials = [driver.start(launch) for launch in long]
        driver.pump(lambda: all(t.results for t in trials), what="every slot busy")
        for launch in long:
            driver.executor.stop_trial(launch.trial_id)
        after = driver.run(driver.launch(trainables.count, {"n": 2}))
        assert isinstance(after.ending, TrialFinished)

    def test_pause_checkpoints_where_the_trial_is(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.Counter, {"n": 0, "sleep": 0.01})
        trial = driver.start(launch)
        driver.pump(lambda: len(trial.results) >= 3, what="some results")
        if not driver.executor.pause_trial(launch.trial_id):
            driver.executor.stop_trial(launch.trial_id)
            pytest.skip("this executor cannot pause a trial (the runner stops it instead)")
        driver.pump(lambda: trial.ending is not None, what="the pause")
        assert isinstance(trial.ending, TrialPaused), trial.events
        assert trial.checkpoints, "a paused trial checkpoints first"
        checkpoint = trial.checkpoints[-1]
        assert checkpoint.iteration >= trial.results[-1]["training_iteration"]
        kept = driver.keep(launch, checkpoint)
        resumed = driver.launch(trainables.Counter, {"n": checkpoint.iteration + 2}, restore=kept)
        again = driver.run(resumed)
        assert [r["training_iteration"] for r in again.results] == [checkpoint.iteration + 1,
                                                                    checkpoint.iteration + 2]

    def test_save_checkpoints_and_the_trial_goes_on(self, driver: ExecutorDriver) -> None:
        launch = driver.launch(trainables.Counter, {"n": 5}, decision_point=DecisionPoint("value", 2))
        trial = driver.start(launch)
        driver.pump(lambda: any(isinstance(e, TrialResults) and e.waiting for e in trial.events),
                    what="a held result")
        can_save = driver.executor.save_trial(launch.trial_id)
        driver.executor.continue_trial(launch.trial_id, None)
        driver.pump(lambda: trial.ending is not None)
        assert isinstance(trial.ending, TrialFinished)
        assert [r["value"] for r in trial.results] == [1, 2, 3, 4, 5]
        if can_save:
            assert [c.iteration for c in trial.checkpoints] == [2]
        else:
            assert not trial.checkpoints

    # --- a whole experiment ------------------------------------------------------------------
    def test_an_experiment_runs_end_to_end(self, make_executor: Callable[[], Executor], tmp_path: Path) -> None:
        import tune_core

        trials = tune_core.run_experiments(
            {"contract": {"run": trainables.Counter, "config": {"n": tune_core.grid_search([2, 3, 4])},
                          "checkpoint_freq": 1, "keep_checkpoints_num": 1, "local_dir": str(tmp_path)}},
            executor=make_executor(), verbose=0,
        )
        assert sorted((t.config["n"], t.status) for t in trials) == [
            (2, "TERMINATED"), (3, "TERMINATED"), (4, "TERMINATED")]
        for trial in trials:
            assert trial.logdir is not None
            lines = Path(trial.logdir, "result.json").read_text().splitlines()
            assert len(lines) == trial.config["n"]
            kept = sorted(p.name for p in Path(trial.logdir).iterdir() if p.name.startswith("checkpoint_"))
            # Every iteration but the last, which ends the trial; only the newest is kept.
            assert kept == [f"checkpoint_{trial.config['n'] - 1:06d}"]
            assert trial.checkpoint == str(Path(trial.logdir, kept[0]))
