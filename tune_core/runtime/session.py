"""A trial's session: what the trial's own code reports into, whatever executor runs it.

It fills the auto fields of each result, checks dict stop criteria, holds a result at the scheduler's
decision point until the runner answers, and writes the checkpoints a function trainable asks for.
``current_session()`` finds the session of the trial running on this thread, so ``tune_core.report()``
and the checkpoint calls work in a worker process, a Ray actor or a thread alike.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tune_core import checkpoints
from tune_core.errors import TuneError
from tune_core.interfaces import TrialLaunch
from tune_core.result import (
    AUTO_FIELDS,
    TIME_TOTAL_S,
    TIMESTEPS_TOTAL,
    TRAINING_ITERATION,
    AutoFiller,
)

if TYPE_CHECKING:
    from tune_core.runtime.host import TrialHost

__all__ = [
    "PauseRequested",
    "Session",
    "TrialStopped",
    "current_session",
    "set_current_session",
    "stop_criterion_error",
]

#: How often the trial's own thread looks for a STOP from the driver while running freely.
COMMAND_POLL_S = 0.005


class TrialStopped(BaseException):
    """Unwinds a trial's code when it is done or the driver stopped it.

    A ``BaseException`` so that a trainable's ``except Exception`` does not swallow it.
    """


class PauseRequested(TrialStopped):
    """Unwinds a trial's code when the driver asked it to pause (checkpoint, then stop)."""


class Session:
    """One run of one trial: the channel between the trial's code and its ``TrialHost``."""

    def __init__(self, host: TrialHost, launch: TrialLaunch, workdir: str):
        self.launch = launch
        self.trial_id = launch.trial_id
        self.workdir = workdir
        self.filler = AutoFiller(launch.trial_id, launch.experiment_id)
        self._host = host
        self._stop = list(launch.stop.items())
        self._decision_point = launch.decision_point
        self._last_poll = time.monotonic()
        #: The checkpoint this run resumed from (a function trainable reads it), if any.
        self.restored: checkpoints.Metadata | None = None
        #: The function has asked ``should_checkpoint`` or checkpointed in this run (or runs from a
        #: checkpoint): it checkpoints itself, so a pause or the trial's end waits for one checkpoint.
        self._checkpoints_itself = False
        #: How the run ends once the function has checkpointed the result just reported: ``PauseRequested``
        #: (paused there) or ``TrialStopped`` (its last result, ``checkpoint_at_end``). ``None``: going on.
        self._ending: type[TrialStopped] | None = None

    # --- results ----------------------------------------------------------------------------
    def report(self, *given: Any, **metrics: Any) -> None:
        """The ``reporter`` a function trainable calls: ``reporter(mean_accuracy=0.9, ...)``, or with
        one dict of metrics, ``reporter({"mean_accuracy": 0.9})``."""
        if self._ending is not None:  # It reported again instead of checkpointing: end now, unsent.
            raise self._ending
        if given:
            metrics = _positional_metrics(given, metrics)
        result = self.filler.fill(metrics)
        try:
            going = self.submit(result)
        except PauseRequested:  # A held result answered with PAUSE.
            if not self._checkpoints_itself:
                raise
            self._ending = PauseRequested
            return
        if not going:
            if self._checkpoints_itself:
                if self._host.pause_requested:
                    self._ending = PauseRequested
                    return
                if self.launch.checkpoint_at_end and result.get("done"):
                    self._ending = TrialStopped
                    return
            raise TrialStopped

    def report_returned(self, metrics: dict[str, Any]) -> None:
        """The dict a function trainable returned: its last result. The trial ends with it anyway, so
        stop criteria are not checked on it (a final summary need not carry their metrics)."""
        if not self.submit(self.filler.fill(dict(metrics)), check_stop=False):
            raise TrialStopped

    def submit(self, result: dict[str, Any], check_stop: bool = True) -> bool:
        """Send one filled result; False when the trial must end now.

        Raises:
            TuneError: a stop criterion names a metric the result lacks, or one that is not a number.
                The result is sent first (it shows what the trial reported).
        """
        done = bool(result.get("done"))
        if not done and check_stop:
            for key, threshold in self._stop:
                try:
                    if result[key] >= threshold:
                        result["done"] = done = True
                        break
                except (KeyError, TypeError, ValueError):
                    self._host.add(result)
                    raise stop_criterion_error(key, threshold, result) from None
        host = self._host
        if done:
            host.add(result)
            host.flush()
            return False
        point = self._decision_point
        if point is not None and point.reached(result):
            host.add(result)
            host.flush(waiting=True)
            self._decision_point = host.wait_decision(self.trial_id)
            return True
        host.add(result)
        now = time.monotonic()
        if now - self._last_poll >= COMMAND_POLL_S:
            self._last_poll = now
            if host.stop_requested(self.trial_id):
                return False
        return True

    # --- checkpoints ------------------------------------------------------------------------
    def restore(self, path: str) -> None:
        """Continue this run from the checkpoint at ``path``: its totals, and ``restored`` for the trial.

        Raises ``TuneError`` naming the path when it is unusable, failing the trial before the
        function runs from a wrong start.
        """
        meta = checkpoints.read_metadata(path)
        self.filler.set_state(meta.totals)
        self.filler.restart_clock()
        self.restored = meta
        self._checkpoints_itself = True  # A function wrote it (a class's runs never read it).

    def should_checkpoint(self) -> bool:
        """Whether to checkpoint the iteration just reported: the scheduler asked (``save_trial``),
        the trial is pausing there, it was the trial's last with ``checkpoint_at_end``, or the
        trial's ``checkpoint_freq`` divides it."""
        self._checkpoints_itself = True
        if self._ending is not None or self._host.save_requested:
            return True
        freq = self.launch.checkpoint_freq
        iteration = self.filler.iteration
        return bool(freq) and iteration > 0 and iteration % freq == 0

    def _checkpoint_iteration(self, what: str) -> int:
        self._checkpoints_itself = True
        iteration = self.filler.iteration
        if iteration <= 0:
            raise TuneError(
                f"tune_core.{what}() was called before the trial reported any result; a checkpoint holds "
                "the state after the last reported iteration, so report first, then checkpoint"
            )
        return iteration

    @contextmanager
    def checkpoint_dir(self) -> Iterator[str]:
        """``tune_core.checkpoint_dir()``: a directory to fill; a checkpoint when the block ends."""
        iteration = self._checkpoint_iteration("checkpoint_dir")
        with checkpoints.writing(self.workdir, iteration, self.filler.state()) as draft:
            yield draft.directory
            self._check_unchanged(iteration, "checkpoint_dir")
        self._host.checkpointed(self.trial_id, iteration, draft.final)
        self.end_if_ending()

    def save_object(self, obj: Any) -> str:
        """``tune_core.save_checkpoint(obj)``: pickle ``obj`` as the checkpoint of the last iteration."""
        iteration = self._checkpoint_iteration("save_checkpoint")
        try:
            with checkpoints.writing(self.workdir, iteration, self.filler.state()) as draft:
                draft.set_object(obj)
        except TuneError as exc:
            raise TuneError(f"tune_core.save_checkpoint(): {exc}") from exc
        self._host.checkpointed(self.trial_id, iteration, draft.final)
        self.end_if_ending()
        return draft.final

    def end_if_ending(self) -> None:
        """End the function where it is when its run was only waiting for this checkpoint (or for
        the function to return): a pause, or the trial's last result with ``checkpoint_at_end``."""
        if self._ending is not None:
            raise self._ending

    def _check_unchanged(self, iteration: int, what: str) -> None:
        if self.filler.iteration != iteration:
            raise TuneError(
                f"the trial reported inside tune_core.{what}(); a checkpoint must hold the state after "
                f"one reported iteration (it began at iteration {iteration}). Report before the block"
            )

    def load_object(self) -> Any:
        """The object saved with ``save_checkpoint`` this run resumed from, or ``None``."""
        return None if self.restored is None else checkpoints.load_object(self.restored)


#: Auto-filled fields a stop criterion may name, listed when it names none the result has.
_STOPPABLE_AUTO = (TRAINING_ITERATION, TIME_TOTAL_S, TIMESTEPS_TOTAL)


def stop_criterion_error(key: str, threshold: Any, result: dict[str, Any]) -> TuneError:
    """Why the stop criterion ``key`` cannot be checked on ``result``: the metric is missing (a typo
    would otherwise run forever), or it is not a number."""
    where = (f"stop criterion {key!r} (>= {threshold!r}): result {result.get(TRAINING_ITERATION, '?')} of "
             f"trial {result.get('trial_id', '?')}")
    if key not in result:
        auto = set(AUTO_FIELDS) | {"time_this_iter_s", "timesteps_this_iter", "neg_mean_loss"}
        metrics = [k for k in result if k not in auto]
        close = difflib.get_close_matches(key, list(result), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if key == TIMESTEPS_TOTAL:
            hint += " (timesteps_total is filled only for a trial that reports timesteps_total or timesteps_this_iter)"
        filled = ", ".join(k for k in _STOPPABLE_AUTO if k in result)
        return TuneError(
            f"{where} has no {key!r}{hint}; it has the metrics {', '.join(map(repr, metrics)) or '(none)'} "
            f"and the auto-filled {filled}, ... Report {key!r} in every result, or fix the key in `stop`"
        )
    value = result[key]
    return TuneError(f"{where} reported {key}={value!r} ({type(value).__name__}), which is not a number "
                     "to compare with the criterion; report a number")


_local = threading.local()
#: How many trials run in this process now, and the latest to start.
_active = 0
_latest: Session | None = None
_active_lock = threading.Lock()


def current_session() -> Session | None:
    """The session of the trial running on this thread, if any.

    A thread the trial started itself has none of its own: it gets the process's session when the
    process runs exactly one trial (a worker process or an actor).
    """
    session: Session | None = getattr(_local, "session", None)
    if session is None and _active == 1:
        return _latest
    return session


def set_current_session(session: Session | None) -> None:
    """Make ``session`` this thread's (``None``: end this thread's)."""
    global _active, _latest
    previous = getattr(_local, "session", None)
    _local.session = session
    with _active_lock:
        _active += (session is not None) - (previous is not None)
        if session is not None:
            _latest = session


def _positional_metrics(given: tuple[Any, ...], metrics: dict[str, Any]) -> dict[str, Any]:
    """``reporter({...})`` as ``reporter(**{...})``; any other positional value is a clear error."""
    if len(given) == 1 and isinstance(given[0], Mapping) and all(type(k) is str for k in given[0]):
        return {**given[0], **metrics}
    shown = ", ".join(repr(value)[:60] for value in given)
    raise TuneError(
        f"reporter({shown}): metrics are given by name, e.g. reporter(mean_accuracy=0.9), or as one "
        f"dict with string keys, reporter({{'mean_accuracy': 0.9}}); got {len(given)} positional "
        f"value{'s' if len(given) != 1 else ''}"
    )
