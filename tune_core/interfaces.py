"""Runtime contracts: what a scheduler, search algorithm, logger or executor implements, and what it sees.

Plugins implement these and register a factory through the hooks in ``tune_core.plugins``. The runner
talks to nothing else, so a third-party plugin is exactly as capable as a built-in one. Everything a
plugin needs is importable from here: trial statuses and decisions as constants, the read-only
``TrialView`` of a trial, the ``TrialRunnerView`` a scheduler acts through, the messages between the
runner and an executor, and ``Checkpoint``. The reference pages in ``docs/plugins/`` say, for each
method, when it is called and what it may return.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from tune_core.checkpoints import Checkpoint
from tune_core.resources import Resources
from tune_core.result import DONE, TIME_TOTAL_S, TIMESTEPS_TOTAL, TRAINING_ITERATION

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.trainable import Trainable
    from tune_core.trial import Trial

__all__ = [
    "CONTINUE",
    "DECISIONS",
    "DONE",
    "ERROR",
    "EVERY_RESULT",
    "PAUSE",
    "PAUSED",
    "PENDING",
    "RUNNING",
    "STATUSES",
    "STOP",
    "TERMINATED",
    "TIMESTEPS_TOTAL",
    "TIME_TOTAL_S",
    "TRAINING_ITERATION",
    "Checkpoint",
    "DecisionPoint",
    "Executor",
    "ExecutorEvent",
    "Resources",
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
    "TrialView",
]

# --- trial statuses -------------------------------------------------------------------------------
#: Waiting to start (or to start again after a failure or a restart from a checkpoint).
PENDING = "PENDING"
#: Handed to the executor.
RUNNING = "RUNNING"
#: Stopped with a checkpoint by a scheduler's PAUSE; may run again.
PAUSED = "PAUSED"
#: Ended: finished, met a stop criterion, or stopped by a scheduler or the user.
TERMINATED = "TERMINATED"
#: Failed more often than ``max_failures`` allows.
ERROR = "ERROR"
STATUSES = (PENDING, RUNNING, PAUSED, TERMINATED, ERROR)

# --- scheduler decisions --------------------------------------------------------------------------
CONTINUE = "CONTINUE"
PAUSE = "PAUSE"
STOP = "STOP"
DECISIONS = (CONTINUE, PAUSE, STOP)


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

    def __reduce__(self) -> Any:
        return (DecisionPoint, (self.attr, self.value))


#: Hold every result (lock-step), for schedulers that decide on each one.
EVERY_RESULT = DecisionPoint(TRAINING_ITERATION, -math.inf)


class TrialView:
    """A trial as plugins see it: read-only.

    Schedulers and observer hooks receive the trial's view, the same object for the trial's whole
    life, so it can key a dict. Loggers receive a view of one run of the trial: the same fields, with
    ``config`` as that run started (a restart with a new config does not relabel earlier results).
    ``config`` and ``last_result`` are the runner's own objects, not copies: read them, never
    change them. Act on a trial through ``TrialRunnerView``.
    """

    __slots__ = ("_trial", "resources", "trial_id")

    _trial: Trial
    #: 8 hex characters, stable for the life of the experiment (across resumes).
    trial_id: str
    #: What the trial asked for (``cpu``, ``gpu``, ``custom``).
    resources: Resources

    def __init__(self, trial: Trial) -> None:
        # Fields that never change are copied: plain attributes are the cheapest to read, and
        # schedulers read them for every waiting trial at every step.
        setattr_ = object.__setattr__
        setattr_(self, "_trial", trial)
        setattr_(self, "trial_id", trial.trial_id)
        setattr_(self, "resources", trial.resources)

    @property
    def name(self) -> str:
        """``<trainable>_<experiment_tag>``, e.g. ``train_func_0_lr=0.2``."""
        return self._trial.name

    @property
    def trainable_name(self) -> str:
        return self._trial.trainable_name

    @property
    def experiment_name(self) -> str:
        return self._trial.experiment_name

    @property
    def experiment_tag(self) -> str:
        return self._trial.experiment_tag

    @property
    def config(self) -> Mapping[str, Any]:
        """The resolved config the trainable runs with (a restart may give it a new one)."""
        return self._trial.config

    @property
    def status(self) -> str:
        """One of ``PENDING``, ``RUNNING``, ``PAUSED``, ``TERMINATED``, ``ERROR``."""
        return self._trial.status

    @property
    def last_result(self) -> Mapping[str, Any] | None:
        """The latest result the runner received, auto fields filled in."""
        return self._trial.last_result

    @property
    def num_results(self) -> int:
        return self._trial.num_results

    @property
    def num_failures(self) -> int:
        return self._trial.num_failures

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The trial's latest complete checkpoint, in the driver's storage; ``None`` before one."""
        return self._trial.latest_checkpoint()

    @property
    def location(self) -> str:
        """Where the trial runs or last ran (``pid=1234`` on this machine, ``host pid=1234`` elsewhere)."""
        return self._trial.location

    @property
    def logdir(self) -> str | None:
        """The trial's directory in the driver's storage; ``None`` until it first starts."""
        logdir = self._trial.logdir
        return None if logdir is None else str(logdir)

    @property
    def error_message(self) -> str | None:
        return self._trial.error_message

    @property
    def metric_analysis(self) -> Mapping[str, list[float]]:
        """``[min, max]`` of each numeric metric reported so far."""
        return self._trial.metric_analysis

    def is_finished(self) -> bool:
        return self._trial.status in (TERMINATED, ERROR)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a TrialView is read-only; act on trials through the runner, not {name!r}")

    def __reduce__(self) -> Any:
        return (type(self), (self._trial,))

    def __repr__(self) -> str:
        return f"TrialView({self.name!r}, id={self.trial_id}, status={self.status})"


class TrialRunnerView(ABC):
    """What a scheduler may ask of the runner, and do to trials through it.

    The actions (``pause_trial``, ``stop_trial``, ``restart_trial``, ``save_trial``) may be called from
    any scheduler method. ``pause_trial``, ``stop_trial`` and ``restart_trial`` called on the trial
    whose result the scheduler is deciding on take effect at once, and the decision it then returns
    for that result is ignored; ``save_trial`` leaves the decision as returned.
    """

    @abstractmethod
    def get_trials(self) -> list[TrialView]:
        """Every trial of the run, in the order they were added (the runner's own list: read it)."""

    def get_trial(self, trial_id: str) -> TrialView | None:
        """The trial with this id, or ``None``."""
        return next((t for t in self.get_trials() if t.trial_id == trial_id), None)

    @abstractmethod
    def trials_with_status(self, *statuses: str) -> list[TrialView]:
        """Trials in any of ``statuses``, in the order they were added (cheap for live states)."""

    @abstractmethod
    def has_resources(self, resources: Resources) -> bool:
        """Whether a trial asking for ``resources`` could start now."""

    def pause_trial(self, trial: TrialView) -> None:
        """Pause ``trial``: a running one frees its resources after checkpointing (a class trainable
        where it is; a function trainable resumes from its latest own checkpoint, and what it
        reported after that is reported again); a pending one waits as ``PAUSED``. It runs again
        when ``choose_trial_to_run`` picks it."""
        raise NotImplementedError

    def stop_trial(self, trial: TrialView) -> None:
        """End ``trial`` as ``TERMINATED``, whatever its state (a finished trial stays as it is)."""
        raise NotImplementedError

    def restart_trial(self, trial: TrialView, *, from_trial: TrialView,
                      config: Mapping[str, Any] | None = None) -> None:
        """Continue ``trial`` from ``from_trial``'s latest checkpoint, with ``config`` if given (PBT's
        exploit).

        The checkpoint is copied into ``trial``'s own directory and becomes its latest. A running
        trial restarts at once; a paused or pending one starts from that checkpoint when next
        chosen. As with any restart from a checkpoint taken at iteration ``n``, ``trial``'s logs are
        cut back to ``n`` (its own results up to ``n`` stay, later ones go: they belong to a state it
        no longer has), and the results after the restart carry the new config and continue the
        checkpoint's counters (``training_iteration`` = ``n + 1``, ...).

        Raises:
            TuneError: ``from_trial`` has no checkpoint yet, or ``trial`` has finished.
        """
        raise NotImplementedError

    def save_trial(self, trial: TrialView) -> bool:
        """Ask a running trial for a checkpoint after its current iteration (a class trainable saves;
        a function trainable sees ``tune_core.should_checkpoint()`` return True). False when the
        trial is not running or its executor cannot; a ``TrialCheckpointed`` follows otherwise."""
        raise NotImplementedError


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
    through ``set_search_properties``. Every method receives ``TrialView`` objects.
    """

    CONTINUE: ClassVar[str] = CONTINUE
    PAUSE: ClassVar[str] = PAUSE
    STOP: ClassVar[str] = STOP

    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        """A new trial was added to the runner (also each trial of a resumed experiment)."""

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        """A trial failed for good (no retries left); it is ``ERROR`` now."""

    @abstractmethod
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        """Return ``CONTINUE``, ``PAUSE`` or ``STOP`` for this result."""

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView,
                          result: Mapping[str, Any] | None) -> None:
        """A trial finished by itself: its trainable returned, said ``done`` or met a stop criterion."""

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        """A trial was stopped: by this scheduler's ``STOP``, ``runner.stop_trial`` or the user."""

    @abstractmethod
    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        """Pick a ``PENDING`` or ``PAUSED`` trial that fits the free resources, or ``None``.

        Called until it returns ``None`` at every step of the loop.
        """

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        """Where ``trial`` must next wait for this scheduler; ``None`` lets it stream freely.

        Asked when the trial starts (or starts again) and whenever a held result gets ``CONTINUE``.
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
        """Take the experiments whose trials this algorithm will generate (``Experiment.make_trial``
        builds a trial from a config)."""

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
    """Writes trial output. One instance per experiment run; it keeps per-trial state itself.

    All calls come from one background thread, in the order of the trial's events.
    """

    def on_trial_restart(self, trial: TrialView, iteration: int) -> None:
        """``trial`` starts again from a checkpoint taken at ``iteration`` (0: from scratch): after a
        failure, a pause, an experiment resume, or from another trial's checkpoint
        (``restart_trial``); ``on_trial_start`` follows.

        Its next result has ``training_iteration == iteration + 1``: results with a higher
        ``training_iteration`` at the end of what this logger wrote for the trial are reported
        again or no longer hold, so drop them (each iteration is then logged once). Also called
        before the first start of a trial whose directory holds output of an attempt the experiment
        state never recorded.
        """

    def on_trial_start(self, trial: TrialView) -> None:
        """``trial.logdir`` exists; the trial is about to run (first start, or any restart).

        Without an ``on_trial_restart`` before it, the first start of a trial in a run finds a new,
        empty directory.
        """

    @abstractmethod
    def on_trial_result(self, trial: TrialView, result: dict[str, Any]) -> None:
        """One result, already filled with the auto fields."""

    def on_trial_complete(self, trial: TrialView) -> None:
        """The trial's run ended (any way, including a pause or a failure that will be retried):
        flush and close its files."""

    def flush(self) -> None:
        """Push buffered output to disk; called every few seconds and before each state snapshot."""

    def close(self) -> None:
        """The experiment run ended."""


# --- runner <-> executor --------------------------------------------------------------------------
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
        """What this executor can hand out in all (``cpu``, ``gpu``, ``custom``)."""

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


def __getattr__(name: str) -> Any:
    # ``Trainable`` is re-exported for plugin authors; loaded on first use, so a worker process (which
    # needs the message types here but maybe no Trainable) starts quickly.
    if name == "Trainable":
        from tune_core.trainable import Trainable

        return Trainable
    raise AttributeError(f"module 'tune_core.interfaces' has no attribute {name!r}")
