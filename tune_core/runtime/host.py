"""``TrialHost``: runs trials one after another over one ``Transport``, for any executor.

Results stream to the driver in batches, never one round trip per result: they wait in a buffer that
a background thread sends every ``LINGER_S``, while the trial's own thread goes on (sending from the
trial's thread would wake the driver in the middle of the trial's work, which costs the trial the
driver's time on a busy machine). The trial's thread sends a batch itself only when it is large (a
tight reporting loop), at a decision point, or at the end. Every other event goes out after the
results buffered before it, in one write, so the driver sees them in order and wakes once.

A batch is pickled once, by the transport. When that fails (a reported lambda, lock or open file),
the results before the culprit are still sent, and the trial fails with a ``TuneError`` naming its
key, raised at the trial's next report (or at its end): nothing reported earlier is lost.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from tune_core import checkpoints
from tune_core.checkpoints import Checkpoint
from tune_core.errors import TuneError
from tune_core.interfaces import (
    DecisionPoint,
    TrialCheckpointed,
    TrialFailed,
    TrialFinished,
    TrialLaunch,
    TrialPaused,
    TrialResults,
)
from tune_core.paths import make_dir
from tune_core.result import set_node
from tune_core.runtime import drivers
from tune_core.runtime.protocol import Continue, Pause, Save, Stop, Transport
from tune_core.runtime.session import PauseRequested, Session, TrialStopped, set_current_session

__all__ = ["INLINE_FLUSH_RESULTS", "LINGER_S", "TrialHost"]

LINGER_S = 0.01
INLINE_FLUSH_RESULTS = 512

#: ``context(launch, workdir, fresh)`` wraps a trial's run: the executor's own set-up around it (the
#: local executor captures the trial's stdout/stderr and sets its environment there).
RunContext = Callable[[TrialLaunch, str, bool], AbstractContextManager[Any]]


class TrialHost:
    """The trial side of one executor slot: a worker process, a Ray actor, a thread.

    Args:
        transport: the line to the executor's driver side.
        shared_storage: the trial's directory is the driver's (same machine or a shared disk), so a
            checkpoint travels as its path. Otherwise each checkpoint is sent as bytes and removed
            here, and a trial restores from bytes into its own directory.
        tick: called by the background sender every ``LINGER_S`` (e.g. to publish live output).
        node: the executor's name for the machine or node this host runs on (a Ray node id, say):
            every result then carries it as ``node``, and the status block and ``tune-core ls`` show it.
            ``None`` (the default): results name the host only (``hostname``, ``node_ip``, ``pid``).
    """

    def __init__(self, transport: Transport, *, shared_storage: bool = True,
                 tick: Callable[[], None] | None = None, node: str | None = None):
        self._transport = transport
        self.shared_storage = shared_storage
        self.node = node
        if node is not None:
            set_node(node)
        self._tick = tick
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._trial_id = ""
        self._stop_requested = False
        self._pause_requested = False
        self._save_requested = False
        #: Why this run's results could not be sent (a value that does not pickle); the trial fails with it.
        self._failure: str | None = None
        #: Messages that came from the driver side while a trial ran but were not for it
        #: (an executor's own "exit", say); the executor's loop handles them after ``run``.
        self.leftover: list[Any] = []
        self._closed = False
        self._sender = threading.Thread(target=self._send_loop, name="tune-sender", daemon=True)
        self._sender.start()

    # --- running a trial ----------------------------------------------------------------------
    def run(self, launch: TrialLaunch, trainable: Any, *, workdir: str | None = None,
            context: RunContext | None = None) -> None:
        """Run one trial to its end and tell the driver how it ended.

        ``trainable`` is a function ``f(config[, reporter])`` or a ``Trainable`` subclass; ``workdir``
        is where the trial writes (default: ``launch.logdir``, the driver's directory for it).
        Never raises for the trial's own errors: they become ``TrialFailed`` with the traceback.
        """
        trial_id = launch.trial_id
        workdir = workdir or launch.logdir
        self._begin(trial_id)
        session = Session(self, launch, workdir)
        set_current_session(session)
        ended: Any = TrialFinished(trial_id)
        try:
            fresh = make_dir(workdir)
            with context(launch, workdir, fresh) if context is not None else nullcontext():
                try:
                    restore = self._materialize(launch.restore, workdir)
                    if isinstance(trainable, type):
                        drivers.run_class(trainable, session, self, restore)
                    else:
                        drivers.run_function(trainable, session, restore)
                        self.mark_done()
                except TrialStopped:
                    if self._pause_requested:
                        ended = TrialPaused(trial_id)
                except BaseException:
                    text = _format_exc()
                    sys.stderr.write(text)
                    self.send(TrialFailed(trial_id, text))
                    return
            try:
                self.send(ended)
            except TuneError as exc:  # Its last results could not be sent.
                self.send(TrialFailed(trial_id, f"tune_core.errors.TuneError: {exc}\n"))
        finally:
            set_current_session(None)
            self._end()

    def _begin(self, trial_id: str) -> None:
        with self._lock:
            self._trial_id = trial_id
            self._stop_requested = self._pause_requested = self._save_requested = False
            self._failure = None

    def _end(self) -> None:
        with self._lock:
            self._trial_id = ""

    def _materialize(self, checkpoint: Checkpoint | None, workdir: str) -> str | None:
        """The directory to restore from: the path itself, or the bytes unpacked into ``workdir``."""
        if checkpoint is None:
            return None
        if checkpoint.path is not None:
            return checkpoint.path
        assert checkpoint.data is not None
        target = tempfile.mkdtemp(prefix=".restore_", dir=workdir)
        os.rmdir(target)
        return checkpoints.unpack(checkpoint.data, target)

    # --- results and events -------------------------------------------------------------------
    def add(self, result: dict[str, Any]) -> None:
        with self._lock:
            if self._failure is not None:
                raise TuneError(self._failure)
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

    def send(self, event: Any) -> None:
        """Send ``event`` after any buffered results, keeping order."""
        with self._lock:
            self._flush_locked(False, then=event)

    def checkpointed(self, trial_id: str, iteration: int, path: str) -> None:
        """Tell the driver a checkpoint is complete, after the results buffered before it."""
        self._save_requested = False
        if self.shared_storage:
            checkpoint = Checkpoint(iteration, path=path)
        else:
            checkpoint = Checkpoint(iteration, data=checkpoints.pack(path))
            shutil.rmtree(path, ignore_errors=True)
        self.send(TrialCheckpointed(trial_id, checkpoint))

    def _flush_locked(self, waiting: bool, then: Any = None) -> None:
        if self._failure is not None and type(then) is not TrialFailed:
            raise TuneError(self._failure)
        messages: list[Any] = []
        if self._buffer or waiting:
            messages.append(TrialResults(self._trial_id, self._buffer, waiting))
            self._buffer = []
        if then is not None:
            messages.append(then)
        if messages:
            try:
                self._transport.send(*messages)  # One write: the driver wakes once for all.
            except Exception as exc:
                self._salvage(messages, exc)

    def _salvage(self, messages: list[Any], exc: Exception) -> None:
        """A batch did not pickle: send the results before the culprit, then fail the trial naming it.

        Raises ``TuneError`` (unless the trial is failing anyway: then its failure says both), or
        ``exc`` itself when no result is to blame (the driver is gone, say).
        """
        from tune_core.runtime.unsendable import find_unsendable

        batch = messages[0] if type(messages[0]) is TrialResults else None
        found = find_unsendable(batch.results) if batch is not None else None
        if batch is None or found is None:
            raise exc
        index, self._failure = found
        deliver: list[Any] = [TrialResults(batch.trial_id, batch.results[:index])] if index else []
        then = messages[-1]
        if type(then) is TrialFailed:
            self._transport.send(*deliver, TrialFailed(then.trial_id, f"{then.error}\n{self._failure}\n"))
            return
        if deliver:
            self._transport.send(*deliver)
        raise TuneError(self._failure)

    def _send_loop(self) -> None:
        while not self._closed:
            time.sleep(LINGER_S)  # Cheaper than waiting on an event: this runs 100 times a second.
            if self._buffer:
                with self._lock:
                    if self._buffer:
                        try:
                            self._flush_locked(False)
                        except Exception:  # The trial's own thread raises it at its next send.
                            pass
            if self._tick is not None:
                self._tick()

    def close(self) -> None:
        """Stop the background sender (a host that runs no more trials); it ends within ``LINGER_S``."""
        self._closed = True

    # --- commands from the driver -------------------------------------------------------------
    def stop_requested(self, trial_id: str) -> bool:
        """Take the commands waiting, without blocking; True if the trial must stop (or pause)."""
        while True:
            message = self._transport.recv(0)
            if message is None:
                break
            self._note(message, trial_id)
        return self._stop_requested

    @property
    def pause_requested(self) -> bool:
        return self._pause_requested

    @property
    def save_requested(self) -> bool:
        """Whether the driver asked for a checkpoint that has not been written yet (noted while
        the trial reports, or at a decision point)."""
        return self._save_requested

    def _note(self, message: Any, trial_id: str) -> None:
        kind = type(message)
        if kind is Stop or kind is Pause or kind is Save or kind is Continue:
            if message.trial_id != trial_id:
                return  # A late command for a run that already ended here.
            if kind is Save:
                self._save_requested = True
            elif kind is not Continue:
                self._stop_requested = True
                self._pause_requested = self._pause_requested or kind is Pause
            return
        self.leftover.append(message)
        self._stop_requested = True  # The executor wants this slot back (e.g. it is shutting down).

    def wait_decision(self, trial_id: str) -> DecisionPoint | None:
        """Block until the driver continues, stops or pauses ``trial_id``; return the next decision point."""
        while not self._stop_requested:
            message = self._transport.recv(None)
            if type(message) is Continue and message.trial_id == trial_id:
                return message.decision_point
            self._note(message, trial_id)
        raise PauseRequested if self._pause_requested else TrialStopped


def _format_exc() -> str:
    import traceback  # Only failures pay for it.

    return traceback.format_exc()
