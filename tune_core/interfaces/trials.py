"""What plugins see of trials and of the runner: statuses, decisions, decision points, the read-only
``TrialView`` and the ``TrialRunnerView`` a scheduler acts through. Import them from
``tune_core.interfaces``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tune_core.checkpoints import Checkpoint
from tune_core.resources import Resources
from tune_core.result import TRAINING_ITERATION

if TYPE_CHECKING:
    from tune_core.trial import Trial

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

    def first_fitting(self, trials: Iterable[TrialView]) -> TrialView | None:
        """The first of ``trials`` whose resources are free now (``has_resources``), or ``None``:
        what ``choose_trial_to_run`` usually returns, e.g.
        ``runner.first_fitting(runner.trials_with_status(PENDING, PAUSED))``.

        Trials of one experiment share one ``Resources`` object; a request that does not fit is asked
        about once, not once per waiting trial.
        """
        refused: set[int] = set()
        for trial in trials:
            request = trial.resources
            if id(request) in refused:
                continue
            if self.has_resources(request):
                return trial
            refused.add(id(request))
        return None

    def pause_trial(self, trial: TrialView) -> None:
        """Pause ``trial``: a running one frees its resources after checkpointing where it is (a class
        trainable saves; a function trainable that checkpoints itself sees ``should_checkpoint()``
        return True after its report, and ends in its checkpoint call; one that never checkpoints
        resumes from its latest own checkpoint, and what it reported after that is reported
        again); a pending one waits as ``PAUSED``. It runs again when ``choose_trial_to_run``
        picks it."""
        raise NotImplementedError

    def stop_trial(self, trial: TrialView) -> None:
        """End ``trial`` as ``TERMINATED``, whatever its state (a finished trial stays as it is)."""
        raise NotImplementedError

    def restart_trial(self, trial: TrialView, *, from_trial: TrialView,
                      config: Mapping[str, Any] | None = None, tag: str | None = None) -> None:
        """Continue ``trial`` from ``from_trial``'s latest checkpoint, with ``config`` if given (PBT's
        exploit), and with ``tag`` as its new ``experiment_tag`` if given (its name changes with
        it, e.g. ``0_lr=0.1@perturbed[lr=0.12]``; its directory does not).

        The checkpoint is copied into ``trial``'s own directory and becomes its latest. A running
        trial restarts at once; a paused or pending one starts from that checkpoint when next
        chosen. As with any restart from a checkpoint taken at iteration ``n``, ``trial``'s logs are
        cut back to ``n`` (its own results up to ``n`` stay, later ones go: they belong to a state it
        no longer has), and the results after the restart carry the new config and continue the
        checkpoint's counters (``training_iteration`` = ``n + 1``, ...).

        Raises:
            TuneError: ``from_trial`` has no checkpoint yet, ``trial`` has finished, or ``tag`` is not
                a non-empty string.
        """
        raise NotImplementedError

    def save_trial(self, trial: TrialView) -> bool:
        """Ask a running trial for a checkpoint after its current iteration (a class trainable saves;
        a function trainable sees ``tune_core.should_checkpoint()`` return True). Asked on a held
        result, the checkpoint is of exactly that iteration. False when the trial is not running
        or its executor cannot; a ``TrialCheckpointed`` follows otherwise."""
        raise NotImplementedError
