"""A small runner for driving a scheduler through its methods, with no executor at all.

``FakeRunner`` implements the public ``TrialRunnerView`` ABC. Its trials are real ``TrialView``s over a
stand-in record (``TrialView`` reads only attributes of the object it wraps; tune-core has no public
way to make a view without a real run, so the record plays the trial). ``report`` hands one result
to the scheduler and applies the decision as the runner would: ``PAUSE`` pauses at once (a class
trainable checkpointed where it was), ``STOP`` ends the trial and calls ``on_trial_remove``.
``Sim`` adds a clock: every running trial reports one iteration per tick.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

from tune_core.interfaces import (
    DECISIONS,
    ERROR,
    PAUSE,
    PAUSED,
    PENDING,
    RUNNING,
    STOP,
    TERMINATED,
    Resources,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)

_ids = itertools.count()
ONE_CPU = Resources(cpu=1)


class Record:
    """What a ``TrialView`` reads of a trial."""

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.trial_id = f"{next(_ids):08x}"
        self.name = name
        self.trainable_name = "fake"
        self.experiment_name = "fake"
        self.experiment_tag = name
        self.config = config
        self.resources = ONE_CPU
        self.status = PENDING
        self.last_result: dict[str, Any] | None = None
        self.num_results = 0
        self.num_failures = 0
        self.location = ""
        self.logdir = None
        self.error_message = None
        self.metric_analysis: dict[str, list[float]] = {}

    def latest_checkpoint(self) -> None:
        return None


class FakeRunner(TrialRunnerView):
    def __init__(self, scheduler: TrialScheduler, slots: float = math.inf) -> None:
        self.scheduler = scheduler
        self.slots = slots
        self.views: list[TrialView] = []
        self.records: dict[str, Record] = {}
        self.decisions: list[tuple[str, str]] = []  # (trial name, decision) per report
        self.stopped_by_runner: list[str] = []

    # --- TrialRunnerView ---------------------------------------------------------------------------
    def get_trials(self) -> list[TrialView]:
        return self.views

    def trials_with_status(self, *statuses: str) -> list[TrialView]:
        return [v for v in self.views if v.status in statuses]

    def has_resources(self, resources: Resources) -> bool:
        return len(self.trials_with_status(RUNNING)) + resources.cpu <= self.slots

    def pause_trial(self, trial: TrialView) -> None:
        record = self.records[trial.trial_id]
        if record.status in (RUNNING, PENDING):
            record.status = PAUSED

    def stop_trial(self, trial: TrialView) -> None:
        record = self.records[trial.trial_id]
        if record.status in (TERMINATED, ERROR):
            return
        record.status = TERMINATED
        self.stopped_by_runner.append(trial.name)
        self.scheduler.on_trial_remove(self, trial)

    # --- driving -------------------------------------------------------------------------------------
    def add(self, name: str, **config: Any) -> TrialView:
        record = Record(name, config)
        view = TrialView(record)  # type: ignore[arg-type]
        self.records[record.trial_id] = record
        self.views.append(view)
        self.scheduler.on_trial_add(self, view)
        return view

    def start(self, view: TrialView) -> None:
        assert view.status in (PENDING, PAUSED), view
        self.records[view.trial_id].status = RUNNING

    def report(self, view: TrialView, **result: Any) -> str:
        """One result of a running trial; ``done=True`` completes it instead."""
        record = self.records[view.trial_id]
        assert record.status == RUNNING, f"{view.name} reports while {record.status}"
        record.last_result = result
        record.num_results += 1
        if result.get("done"):
            self.scheduler.on_trial_complete(self, view, result)
            record.status = TERMINATED
            return "DONE"
        decision = self.scheduler.on_trial_result(self, view, result)
        assert decision in DECISIONS, decision
        self.decisions.append((view.name, decision))
        if record.status != RUNNING:
            return decision  # The scheduler acted on it itself.
        if decision == PAUSE:
            self.pause_trial(view)
        elif decision == STOP:
            record.status = TERMINATED
            self.scheduler.on_trial_remove(self, view)
        return decision

    def fail(self, view: TrialView) -> None:
        self.records[view.trial_id].status = ERROR
        self.scheduler.on_trial_error(self, view)

    def start_chosen(self) -> list[TrialView]:
        started = []
        while (chosen := self.scheduler.choose_trial_to_run(self)) is not None:
            self.start(chosen)
            started.append(chosen)
        return started


class Sim(FakeRunner):
    """Every running trial trains one iteration per tick; a paused trial resumes where it paused.

    ``curve(config, iteration)`` gives the metric ``score``; ``length(config)`` the iterations after
    which a trial finishes by itself.
    """

    def __init__(self, scheduler: TrialScheduler, slots: float, curve: Callable[[dict[str, Any], int], float],
                 length: Callable[[dict[str, Any]], int] = lambda config: 10**9,
                 fails_at: Callable[[dict[str, Any]], int | None] = lambda config: None) -> None:
        super().__init__(scheduler, slots)
        self.curve, self.length, self.fails_at = curve, length, fails_at
        self.iterations: dict[str, list[int]] = {}

    def tick(self) -> None:
        self.start_chosen()
        for view in self.trials_with_status(RUNNING):
            record = self.records[view.trial_id]
            iteration = (record.last_result or {}).get("training_iteration", 0) + 1
            self.iterations.setdefault(view.name, []).append(iteration)
            if self.fails_at(view.config) == iteration:
                self.fail(view)
                continue
            done = iteration >= self.length(view.config)
            self.report(view, training_iteration=iteration, score=self.curve(dict(view.config), iteration),
                        done=done)

    def run(self, max_ticks: int = 10_000) -> int:
        for tick in range(max_ticks):
            self.tick()
            if not self.trials_with_status(PENDING, RUNNING, PAUSED):
                return tick
            if not self.trials_with_status(RUNNING) and self.scheduler.choose_trial_to_run(self) is None:
                waiting = [(v.name, v.status) for v in self.trials_with_status(PENDING, PAUSED)]
                raise AssertionError(f"deadlock: nothing runs, nothing can start; waiting: {waiting}")
        raise AssertionError("did not finish")

    def statuses(self) -> Iterator[str]:
        return (v.status for v in self.views)


__all__ = ["FakeRunner", "Record", "Sim"]
