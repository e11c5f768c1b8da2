"""Runtime contracts: the abstract classes a scheduler, search algorithm, logger or executor implements.

Plugins implement these and register a factory through the hooks in ``tune_core.plugins``. The runner
talks to nothing else, so a third-party scheduler is exactly as capable as a built-in one.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from tune_core.resources import Resources

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.trainable import Trainable
    from tune_core.trial import Trial

__all__ = [
    "CONTINUE",
    "EVERY_RESULT",
    "PAUSE",
    "STOP",
    "DecisionPoint",
    "Executor",
    "ExecutorEvent",
    "SearchAlgorithm",
    "Searcher",
    "Trainable",
    "TrialCheckpointed",
    "TrialFailed",
    "TrialFinished",
    "TrialLaunch",
    "TrialLogger",
    "TrialPaused",
    "TrialResults",
    "TrialRunnerView",
    "TrialScheduler",
]

CONTINUE = "CONTINUE"
PAUSE = "PAUSE"
STOP = "STOP"


@dataclass(frozen=True)
class DecisionPoint:
    """A point where a running trial waits for the scheduler before going on.

    Every result whose ``result[attr] >= value`` is held: the trial blocks until the runner has asked
    the scheduler and answered. Results before it stream freely (no round trip per result), so a
    scheduler only pays for the exact decisions it needs: an ASHA rung, a PBT perturbation point.
    """

    attr: str
    value: float

    def reached(self, result: Mapping[str, Any]) -> bool:
        value = result.get(self.attr)
        return value is not None and value >= self.value


#: Hold every result (lock-step), for schedulers that decide on each one.
EVERY_RESULT = DecisionPoint("training_iteration", -math.inf)


class TrialRunnerView(ABC):
    """What a scheduler may ask of the runner."""

    @abstractmethod
    def get_trials(self) -> list[Trial]: ...

    @abstractmethod
    def trials_with_status(self, *statuses: str) -> list[Trial]:
        """Trials in any of ``statuses``, in the order they were added (cheap for live states)."""

    @abstractmethod
    def has_resources(self, resources: Resources) -> bool: ...


class _Objective:
    """``metric``/``mode``: set by the component's own arguments or, failing that, by ``run``."""

    metric: str | None = None
    mode: str | None = None

    def set_search_properties(self, metric: str | None, mode: str | None) -> bool:
        """Adopt the experiment's metric/mode where the component has none of its own."""
        if self.metric is None and metric is not None:
            self.metric = metric
        if self.mode is None and mode is not None:
            self.mode = mode
        return True


class TrialScheduler(_Objective, ABC):
    """Decides, per result, whether a trial goes on, pauses or stops; and which trial runs next.

    ``metric``/``mode`` come from the scheduler's own arguments or, if unset, from ``tune_core.run``
    through ``set_search_properties``.
    """

    CONTINUE: ClassVar[str] = CONTINUE
    PAUSE: ClassVar[str] = PAUSE
    STOP: ClassVar[str] = STOP


    def on_trial_add(self, runner: TrialRunnerView, trial: Trial) -> None:
        """A new trial was added to the runner."""

    def on_trial_error(self, runner: TrialRunnerView, trial: Trial) -> None:
        """A trial failed for good."""

    @abstractmethod
    def on_trial_result(self, runner: TrialRunnerView, trial: Trial, result: dict[str, Any]) -> str:
        """Return ``CONTINUE``, ``PAUSE`` or ``STOP`` for this result."""

    def on_trial_complete(self, runner: TrialRunnerView, trial: Trial, result: dict[str, Any] | None) -> None:
        """A trial finished normally (stop criterion met, or the trainable ended)."""

    def on_trial_remove(self, runner: TrialRunnerView, trial: Trial) -> None:
        """A trial was stopped by the scheduler or the user."""

    @abstractmethod
    def choose_trial_to_run(self, runner: TrialRunnerView) -> Trial | None:
        """Pick a PENDING or PAUSED trial that fits the free resources, or ``None``."""

    def decision_point(self, trial: Trial) -> DecisionPoint | None:
        """Where ``trial`` must next wait for this scheduler; ``None`` lets it stream freely.

        Asked when the trial starts or resumes and after each decision on a held result.
        Decisions on results that were not held are applied as soon as they are made.
        """
        return None

    def debug_string(self) -> str:
        """One line (or a few) for the status block."""
        return f"Using {type(self).__name__}."

    def save(self) -> Any:
        """Picklable state for experiment resume."""
        return None

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned."""


class SearchAlgorithm(_Objective, ABC):
    """Produces the trials of an experiment, one at a time."""


    @abstractmethod
    def add_configurations(self, experiments: list[Experiment]) -> None:
        """Take the experiments whose trials this algorithm will generate."""

    @abstractmethod
    def next_trial(self) -> Trial | None:
        """The next trial, or ``None`` when none is ready now (see ``is_finished``)."""

    @abstractmethod
    def is_finished(self) -> bool:
        """True when no more trials will ever come."""

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """An intermediate result of a trial this algorithm made."""

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """A trial this algorithm made has finished (``error=True`` if it failed)."""

    def total_trials(self) -> int | None:
        """How many trials will come in all, when known (for progress display)."""
        return None

    def save(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned."""


class Searcher(ABC):
    """A model-based suggester (TPE, Bayesian optimisation): one config per ``suggest`` call.

    The runner wraps it in ``tune_core.search.SearchGenerator``, which turns configs into trials.
    ``suggest`` returns a config dict, ``None`` for "not now", or ``Searcher.FINISHED``.
    """

    FINISHED: ClassVar[str] = "FINISHED"

    metric: str | None = None
    mode: str | None = None

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any]) -> bool:
        if self.metric is None and metric is not None:
            self.metric = metric
        if self.mode is None and mode is not None:
            self.mode = mode
        return True

    @abstractmethod
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None: ...

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """An intermediate result."""

    @abstractmethod
    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None: ...

    def save(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned."""


class TrialLogger(ABC):
    """Writes trial output. One instance per experiment run; it keeps per-trial state itself."""

    def on_trial_start(self, trial: Trial) -> None:
        """``trial.logdir`` exists; the trial is about to run (or to run again after a restore)."""

    @abstractmethod
    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> None:
        """One result, already filled with the auto fields."""

    def on_trial_complete(self, trial: Trial) -> None:
        """The trial ended (any way): flush and close its files."""

    def flush(self) -> None:
        """Push buffered output to disk; called every few seconds."""

    def close(self) -> None:
        """The experiment run ended."""


@dataclass
class TrialLaunch:
    """All an executor needs to start a trial somewhere.

    ``stop`` holds dict stop criteria, checked where the trial runs so it stops exactly there;
    ``decision_point`` is where the trial first waits for the scheduler.
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
    restore_path: str | None = None
    #: environment variables to set while the trial runs (e.g. ``CUDA_VISIBLE_DEVICES``).
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class TrialResults:
    """Results of one trial, in order. ``waiting``: the last one is held at a decision point."""

    trial_id: str
    results: list[dict[str, Any]]
    waiting: bool = False


@dataclass
class TrialCheckpointed:
    """A checkpoint of the trial is complete at ``path`` (written under a temporary name, then renamed)."""

    trial_id: str
    path: str
    iteration: int


@dataclass
class TrialPaused:
    """The trial stopped at the runner's request after saving a checkpoint; it can resume anywhere."""

    trial_id: str


@dataclass
class TrialFinished:
    """The trial ended by itself: its trainable returned, said ``done``, or met a stop criterion."""

    trial_id: str


@dataclass
class TrialFailed:
    """The trial raised, or the process running it died. ``error`` holds the traceback or reason."""

    trial_id: str
    error: str


ExecutorEvent = TrialResults | TrialCheckpointed | TrialPaused | TrialFinished | TrialFailed


class Executor(ABC):
    """Runs trials somewhere and streams their results back to the runner."""

    @abstractmethod
    def total_resources(self) -> Resources:
        """What this executor can hand out in all (``cpu``, ``gpu``, ``custom``)."""

    @abstractmethod
    def start_trial(self, launch: TrialLaunch) -> str:
        """Start a trial; return where it runs (e.g. ``"pid=1234"``), for the status block."""

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

    @abstractmethod
    def stop_trial(self, trial_id: str) -> None:
        """Stop a running trial; no event follows for it. Results already sent may still arrive."""

    @abstractmethod
    def poll(self, timeout: float) -> list[ExecutorEvent]:
        """Events that arrived, waiting up to ``timeout`` seconds for the first one."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every trial and release every process or actor."""

    def clock(self) -> float:
        """Seconds on this executor's clock; a simulator returns virtual time."""
        import time

        return time.monotonic()


def __getattr__(name: str) -> Any:
    # ``Trainable`` is re-exported for plugin authors; loaded on first use, so a worker process (which
    # needs the message types here but maybe no Trainable) starts quickly.
    if name == "Trainable":
        from tune_core.trainable import Trainable

        return Trainable
    raise AttributeError(f"module 'tune_core.interfaces' has no attribute {name!r}")
