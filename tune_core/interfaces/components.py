"""The contracts of the components a run is made of: ``TrialScheduler``, ``SearchAlgorithm``,
``Searcher`` and ``TrialLogger``. Import them from ``tune_core.interfaces``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tune_core.interfaces.trials import (
    CONTINUE,
    PAUSE,
    STOP,
    DecisionPoint,
    TrialRunnerView,
    TrialView,
)

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.trial import Trial


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

        Called until it returns ``None`` at every step of the loop at which a trial waits and some
        CPU is free (or a waiting trial asks for none): when no trial could start, it is not asked.
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

    def search_alg(self) -> SearchAlgorithm | Searcher | None:
        """The search this scheduler brings, used when the run is given no ``search_alg``: the
        seed's ``HyperOptScheduler`` both proposes configs and schedules their trials. ``None``
        (the default): the run's own (``basic`` unless given)."""
        return None

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

    def max_pending_trials(self) -> int | None:
        """How many of its trials may wait as ``PENDING`` at once; ``None``: the runner's default,
        max(16, 2 x the executor's CPUs). ``0``: asked only when a trial could start at once (a CPU
        free, none pending), so a model-based search suggests each config with every result so far;
        the runner asks again in the same step once that trial starts, so every free slot fills."""
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


class Service(ABC):
    """Runs beside one experiment, for as long as it runs: a Client API server, a live dashboard.

    Made when the run starts, by a ``ServiceSpec`` factory called with ``control`` (a
    ``tune_core.control.ExperimentControl``: list, add and stop trials from any thread) and its
    options; closed when the run ends, however it ends. It must never block the run: serve from
    threads of its own.
    """

    @abstractmethod
    def close(self) -> None:
        """Stop serving and release what it holds (threads, sockets); called once."""
