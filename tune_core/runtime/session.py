"""A trial's session: what the trial's own code reports into, whatever executor runs it.

It fills the auto fields of each result, checks dict stop criteria, holds a result at the scheduler's
decision point until the runner answers, and writes the checkpoints a function trainable asks for.
``current_session()`` finds the session of the trial running on this thread, so ``tune_core.report()``
and the checkpoint calls work in a worker process, a Ray actor or a thread alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tune_core import checkpoints
from tune_core.errors import TuneError
from tune_core.interfaces import TrialLaunch
from tune_core.result import AutoFiller

if TYPE_CHECKING:
    from tune_core.runtime.host import TrialHost

__all__ = ["PauseRequested", "Session", "TrialStopped", "current_session", "set_current_session"]

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

    # --- results ----------------------------------------------------------------------------
    def report(self, **metrics: Any) -> None:
        """The ``reporter`` a function trainable calls: ``reporter(mean_accuracy=0.9, ...)``."""
        if not self.submit(self.filler.fill(metrics)):
            raise TrialStopped

    def submit(self, result: dict[str, Any]) -> bool:
        """Send one filled result; False when the trial must end now."""
        done = bool(result.get("done"))
        if not done:
            for key, threshold in self._stop:
                value = result.get(key)
                if value is not None and value >= threshold:
                    result["done"] = done = True
                    break
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

    def should_checkpoint(self) -> bool:
        """Whether the trial's ``checkpoint_freq`` divides the last reported iteration, or the
        scheduler asked for a checkpoint."""
        if self._host.save_requested:
            return True
        freq = self.launch.checkpoint_freq
        iteration = self.filler.iteration
        return bool(freq) and iteration > 0 and iteration % freq == 0

    def _checkpoint_iteration(self, what: str) -> int:
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

    def save_object(self, obj: Any) -> str:
        """``tune_core.save_checkpoint(obj)``: pickle ``obj`` as the checkpoint of the last iteration."""
        iteration = self._checkpoint_iteration("save_checkpoint")
        try:
            with checkpoints.writing(self.workdir, iteration, self.filler.state()) as draft:
                draft.set_object(obj)
        except TuneError as exc:
            raise TuneError(f"tune_core.save_checkpoint(): {exc}") from exc
        self._host.checkpointed(self.trial_id, iteration, draft.final)
        return draft.final

    def _check_unchanged(self, iteration: int, what: str) -> None:
        if self.filler.iteration != iteration:
            raise TuneError(
                f"the trial reported inside tune_core.{what}(); a checkpoint must hold the state after "
                f"one reported iteration (it began at iteration {iteration}). Report before the block"
            )

    def load_object(self) -> Any:
        """The object saved with ``save_checkpoint`` this run resumed from, or ``None``."""
        return None if self.restored is None else checkpoints.load_object(self.restored)


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
