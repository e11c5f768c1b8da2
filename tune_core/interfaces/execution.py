"""Between the runner and an executor: ``TrialLaunch``, the events an executor reports, and the
``Executor`` contract. Import them from ``tune_core.interfaces``; the trial's side is
``tune_core.runtime``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tune_core.checkpoints import Checkpoint
from tune_core.interfaces.trials import DecisionPoint
from tune_core.resources import Resources


@dataclass
class TrialLaunch:
    """All an executor needs to start a trial somewhere.

    ``logdir`` is the trial's directory in the driver's storage. An executor whose trials share the
    driver's disk runs them there; one that does not gives the trial a directory of its own and
    ships checkpoints back as bytes (see ``tune_core.runtime``). ``stop`` holds dict stop criteria,
    checked where the trial runs so it stops exactly there; ``decision_point`` is where the trial
    first waits for the scheduler; ``restore`` is the checkpoint it starts from.
    """

    trial_id: str
    trainable_name: str
    trainable: Any
    config: dict[str, Any]
    logdir: str
    resources: Resources
    stop: dict[str, float] = field(default_factory=dict)
    decision_point: DecisionPoint | None = None
    experiment_id: str = ""
    checkpoint_freq: int = 0
    checkpoint_at_end: bool = False
    restore: Checkpoint | None = None
    #: environment variables to set while the trial runs (e.g. ``CUDA_VISIBLE_DEVICES``); an executor
    #: that gives each trial a process of its own sets them (threads share one environment).
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class TrialResults:
    """Results of one trial, in order. ``waiting``: the last one is held at a decision point."""

    trial_id: str
    results: list[dict[str, Any]]
    waiting: bool = False

    def __reduce__(self) -> Any:
        return (TrialResults, (self.trial_id, self.results, self.waiting))


@dataclass
class TrialCheckpointed:
    """A checkpoint of the trial is complete; it includes every result sent before this event."""

    trial_id: str
    checkpoint: Checkpoint

    def __reduce__(self) -> Any:
        return (TrialCheckpointed, (self.trial_id, self.checkpoint))


@dataclass
class TrialPaused:
    """The trial stopped at the runner's request, after its checkpoint (a class trainable saves one
    where it is; a function trainable keeps its latest); it can resume anywhere."""

    trial_id: str

    def __reduce__(self) -> Any:
        return (TrialPaused, (self.trial_id,))


@dataclass
class TrialFinished:
    """The trial ended by itself: its trainable returned, said ``done``, or met a stop criterion."""

    trial_id: str

    def __reduce__(self) -> Any:
        return (TrialFinished, (self.trial_id,))


@dataclass
class TrialFailed:
    """The trial raised, or the process running it died. ``error`` holds the traceback or reason."""

    trial_id: str
    error: str

    def __reduce__(self) -> Any:
        return (TrialFailed, (self.trial_id, self.error))


ExecutorEvent = TrialResults | TrialCheckpointed | TrialPaused | TrialFinished | TrialFailed
#: The events that end a run of a trial: exactly one of them comes per run (unless it was stopped).
TRIAL_ENDINGS = (TrialFinished, TrialFailed, TrialPaused)


class Executor(ABC):
    """Runs trials somewhere and streams their results back to the runner.

    The runner calls every method from one thread. Trials are addressed by ``trial_id``; the same
    id may be started again right after ``stop_trial`` (a restart), and nothing of the stopped run
    may then be reported as the new run's. ``tune_core.runtime`` runs a trial on the trial's side,
    over whatever transport the executor has; ``tune_core.testing.ExecutorContract`` checks an
    executor against this contract.
    """

    @abstractmethod
    def total_resources(self) -> Resources:
        """What this executor can hand out in all (``cpu``, ``gpu``, ``custom``).

        The runner asks again about once a second: a cluster that lost or gained a node returns its
        new total (keep it cheap: a cached value, refreshed now and then).
        """

    def status_line(self) -> str:
        """Optional: one line about where trials run (e.g. a cluster's nodes and resources), shown in
        the status block and kept in the experiment state for ``tune-core ls``; ``""`` (the default)
        shows nothing. Asked about once a second, like ``total_resources``: keep it cheap."""
        return ""

    @abstractmethod
    def start_trial(self, launch: TrialLaunch) -> str:
        """Start a trial; return where it runs (e.g. ``"pid=1234"``) as far as known now.

        The runner also takes the location from the trial's first result (``hostname``, ``pid``).
        """

    def prepare(self, expected_trials: int | None) -> None:
        """Optional: get ready for about this many trials (``None``: unknown), e.g. boot workers early."""

    def fits(self, resources: Resources) -> bool:
        """Whether a trial asking for ``resources`` can be placed now (e.g. a GPU share is free).

        The runner already checks the totals; this is for placement limits that totals miss.
        """
        return True

    @abstractmethod
    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        """Release a trial held at a decision point, with where it waits next."""

    def pause_trial(self, trial_id: str) -> bool:
        """Ask the trial to checkpoint where it is and stop; ``TrialPaused`` follows.

        Return False if this executor cannot: the runner then stops the trial, which resumes
        later from its latest checkpoint.
        """
        return False

    def save_trial(self, trial_id: str) -> bool:
        """Ask the trial for a checkpoint after its current iteration; ``TrialCheckpointed`` follows.

        Return False if this executor cannot.
        """
        return False

    @abstractmethod
    def stop_trial(self, trial_id: str) -> None:
        """Stop a running trial; no event of this run follows for it, even if the same id starts again."""

    @abstractmethod
    def poll(self, timeout: float) -> list[ExecutorEvent]:
        """Events that arrived, waiting up to ``timeout`` seconds for the first one."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every trial and release every process or actor."""

    def clock(self) -> float:
        """Seconds on this executor's clock; a simulator returns virtual time."""
        return time.monotonic()
