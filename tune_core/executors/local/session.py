"""Inside a worker: the channel that batches results to the driver, and a trial's session.

Results stream to the driver in batches (no round trip per result). A result at a decision point,
or one that ends the trial, is sent at once; the trial then waits for the driver's answer, so it
never runs past a point where the scheduler must decide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tune_core.executors.local import protocol
from tune_core.executors.local.pipes import PipeReader, PipeWriter
from tune_core.interfaces import DecisionPoint, TrialLaunch
from tune_core.result import AutoFiller

if TYPE_CHECKING:
    from tune_core.executors.local.checkpoints import Restored

__all__ = ["Channel", "Session", "TrialPaused", "TrialStopped", "current_session"]

#: Results wait in a buffer; a background thread sends them every ``LINGER_S``, while the trial's
#: own thread goes on (sending from the trial's thread would wake the driver in the middle of the
#: trial's work, which costs the trial the driver's time on a busy machine). The trial's thread sends
#: a batch itself only when it is large (a tight reporting loop) or at a decision point or the end.
LINGER_S = 0.01
INLINE_FLUSH_RESULTS = 512
#: How often the trial's own thread looks for a STOP from the driver while running freely.
COMMAND_POLL_S = 0.005


class TrialStopped(BaseException):
    """Unwinds a trial's code when it is done or the driver stopped it.

    A ``BaseException`` so that a trainable's ``except Exception`` does not swallow it.
    """


class TrialPaused(TrialStopped):
    """Unwinds a trial's code when the driver asked it to pause (checkpoint, then stop)."""


class Channel:
    """The worker's two pipes, with a buffer of results flushed inline or by a background thread."""

    def __init__(self, results: PipeWriter, commands: PipeReader, tick: Callable[[], None] | None = None):
        self._results = results
        self._tick = tick
        self._commands = commands
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._trial_id = ""
        self._stop_requested: set[str] = set()
        self._pause_requested: set[str] = set()
        self._flusher = threading.Thread(target=self._flush_loop, name="tune-flusher", daemon=True)
        self._flusher.start()

    # --- results ---------------------------------------------------------------------------
    def add(self, trial_id: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._trial_id = trial_id
            self._buffer.append(result)
            if len(self._buffer) >= INLINE_FLUSH_RESULTS:
                self._flush_locked(False)

    def flush(self, waiting: bool = False) -> None:
        with self._lock:
            self._flush_locked(waiting)

    def mark_done(self) -> None:
        """Mark the last result still buffered as the trial's final one."""
        with self._lock:
            if self._buffer:
                self._buffer[-1]["done"] = True

    def _flush_locked(self, waiting: bool, then: tuple[Any, ...] | None = None) -> None:
        messages: list[tuple[Any, ...]] = []
        if self._buffer or waiting:
            messages.append((protocol.RESULTS, self._trial_id, self._buffer, waiting))
            self._buffer = []
        if then is not None:
            messages.append(then)
        if messages:
            self._results.send(*messages)  # One write: the driver wakes once for both.

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a message after any buffered results, keeping order."""
        with self._lock:
            self._flush_locked(False, then=message)

    def _flush_loop(self) -> None:
        while True:
            time.sleep(LINGER_S)
            with self._lock:
                if self._buffer:
                    self._flush_locked(False)
            if self._tick is not None:
                self._tick()

    # --- commands --------------------------------------------------------------------------
    def recv_command(self) -> tuple[Any, ...]:
        """Block for the next command; ``EOFError`` when the driver is gone."""
        return self._commands.recv()

    def stop_requested(self, trial_id: str) -> bool:
        """Drain pending commands without blocking; True if the driver asked ``trial_id`` to stop
        (or to pause: see ``pause_requested``)."""
        while self._commands.poll():
            self._note(self._commands.recv(), trial_id)
        return trial_id in self._stop_requested

    def pause_requested(self, trial_id: str) -> bool:
        return trial_id in self._pause_requested

    def _note(self, message: tuple[Any, ...], trial_id: str) -> None:
        kind = message[0]
        if kind == protocol.EXIT:
            self._stop_requested.add(trial_id)
        elif kind in (protocol.STOP, protocol.PAUSE):
            self._stop_requested.add(message[1])
            if kind == protocol.PAUSE:
                self._pause_requested.add(message[1])

    def wait_decision(self, trial_id: str) -> DecisionPoint | None:
        """Block until the driver continues, stops or pauses ``trial_id``; return the next decision point."""
        while trial_id not in self._stop_requested:
            message = self.recv_command()
            if message[0] == protocol.CONTINUE and message[1] == trial_id:
                return message[2]
            self._note(message, trial_id)
        raise TrialPaused if trial_id in self._pause_requested else TrialStopped

    def clear(self, trial_id: str) -> None:
        self._stop_requested.discard(trial_id)
        self._pause_requested.discard(trial_id)


class Session:
    """One trial's view of the channel: fills auto fields, checks stop criteria and decision points."""

    def __init__(self, channel: Channel, launch: TrialLaunch, filler: AutoFiller | None = None):
        self.launch = launch
        self.trial_id = launch.trial_id
        self.filler = filler or AutoFiller(launch.trial_id, launch.experiment_id)
        self._channel = channel
        self._stop = list(launch.stop.items())
        self._decision_point = launch.decision_point
        self._last_poll = time.monotonic()
        self.iterations = 0
        #: The checkpoint this run resumed from (set before a function trainable starts), if any.
        self.restored: Restored | None = None

    def report(self, **metrics: Any) -> None:
        """The ``reporter`` a function trainable calls: ``reporter(mean_accuracy=0.9, ...)``."""
        if not self.submit(self.filler.fill(metrics)):
            raise TrialStopped

    def submit(self, result: dict[str, Any]) -> bool:
        """Send one filled result; False when the trial must end now."""
        self.iterations += 1
        done = bool(result.get("done"))
        if not done:
            for key, threshold in self._stop:
                value = result.get(key)
                if value is not None and value >= threshold:
                    result["done"] = done = True
                    break
        channel = self._channel
        if done:
            channel.add(self.trial_id, result)
            channel.flush()
            return False
        point = self._decision_point
        if point is not None and point.reached(result):
            channel.add(self.trial_id, result)
            channel.flush(waiting=True)
            self._decision_point = channel.wait_decision(self.trial_id)
            return True
        channel.add(self.trial_id, result)
        now = time.monotonic()
        if now - self._last_poll >= COMMAND_POLL_S:
            self._last_poll = now
            if channel.stop_requested(self.trial_id):
                return False
        return True

    def send_checkpoint(self, path: str, iteration: int) -> None:
        """Tell the driver a checkpoint is complete, after the results buffered before it."""
        self._channel.send((protocol.CHECKPOINT, self.trial_id, path, iteration))

    def should_checkpoint(self) -> bool:
        """Whether the trial's ``checkpoint_freq`` divides the last reported iteration."""
        freq = self.launch.checkpoint_freq
        iteration = self.filler.iteration
        return bool(freq) and iteration > 0 and iteration % freq == 0


_current: Session | None = None


def current_session() -> Session | None:
    """The session of the trial running in this process, if any."""
    return _current


def set_current_session(session: Session | None) -> None:
    global _current
    _current = session
