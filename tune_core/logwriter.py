"""Runs the loggers on a background thread, so slow file systems never stall the event loop.

Creating files and directories can cost hundreds of microseconds each on a busy disk; done on the
runner's thread it would cap how many trials start per second. Here the runner only enqueues calls;
one thread (in order) makes them. System calls release the GIL, so the disk work overlaps the loop.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tune_core.interfaces import TrialLogger
from tune_core.paths import make_dir
from tune_core.trial import Trial

__all__ = ["LogWriter", "wait_for_pending_writes"]

log = logging.getLogger("tune_core")

_STOP = object()


def _remove_partial_checkpoints(logdir: str) -> None:
    """A killed attempt may have left a checkpoint half written (never renamed into place)."""
    import shutil

    try:
        names = os.listdir(logdir)
    except OSError:
        return
    for name in names:
        if name.startswith(".tmp_checkpoint_"):
            shutil.rmtree(os.path.join(logdir, name), ignore_errors=True)


_FINISHING: set[threading.Thread] = set()
_FINISHING_LOCK = threading.Lock()


@atexit.register
def wait_for_pending_writes() -> None:
    """Wait until every closed run's last state snapshot (and log) is on disk."""
    with _FINISHING_LOCK:
        threads = list(_FINISHING)
        _FINISHING.clear()
    for thread in threads:
        thread.join()


class LogWriter:
    """Fans each trial event out to ``loggers`` on one background thread, in the order it came.

    A logger that raises is reported once and switched off; the others and the run go on.
    """

    def __init__(self, loggers: Sequence[TrialLogger]):
        self._loggers = list(loggers)
        self._states: dict[str, tuple[dict[str, Any], Callable[..., None]]] = {}
        self._state_lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="tune-logwriter", daemon=True)
        self._thread.start()
        # State snapshots are fsynced, which can take a good part of a second on a busy disk: a
        # thread of their own keeps that from holding up the logs.
        self._state_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._state_thread = threading.Thread(target=self._state_work, name="tune-statewriter", daemon=True)
        self._state_thread.start()

    # --- called on the runner's thread -----------------------------------------------------------
    def trial_start(self, trial: Trial, truncate_to: int | None = None) -> None:
        """Start logging ``trial``; a restarted trial's files are first cut back to ``truncate_to``."""
        self._queue.put((self._start, (trial, str(trial.logdir), truncate_to)))

    def trial_results(self, trial: Trial, results: list[dict[str, Any]]) -> None:
        self._queue.put((self._results, (trial, results)))

    def trial_complete(self, trial: Trial) -> None:
        self._queue.put((self._each, ("on_trial_complete", trial)))

    def flush(self) -> None:
        self._queue.put((self._each, ("flush",)))

    def write_state_soon(self, directory: str, payload: dict[str, Any], write: Callable[..., None]) -> None:
        """Write ``payload`` with ``write(directory, payload)`` after flushing the logs. A newer
        snapshot replaces one still waiting, so a slow disk holds at most one per directory."""
        with self._state_lock:
            waiting = directory in self._states
            self._states[directory] = (payload, write)
        if not waiting:
            self._queue.put((self._each, ("flush",)))
            self._queue.put((self._state_queue.put, (directory,)))  # after the flush, hand it over

    def _state_work(self) -> None:
        while (directory := self._state_queue.get()) is not _STOP:
            with self._state_lock:
                pending = self._states.pop(directory, None)
            if pending is not None:
                payload, write = pending
                self._guarded(write, (directory, payload))

    def close(self) -> None:
        """Close every logger: their files are complete when this returns.

        State snapshots still being written go on in the background; ``wait_for_pending_writes``
        waits for them, and so does the interpreter before it exits.
        """
        if not self._thread.is_alive():
            return
        closed = threading.Event()
        self._queue.put((self._each, ("close",)))
        self._queue.put((closed.set, ()))
        self._queue.put((self._state_queue.put, (_STOP,)))
        self._queue.put(_STOP)
        closed.wait()
        with _FINISHING_LOCK:
            _FINISHING.add(self._thread)
            _FINISHING.add(self._state_thread)

    # --- on the writer thread --------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            func, args = item
            func(*args)

    def _start(self, trial: Trial, logdir: str, truncate_to: int | None) -> None:
        make_dir(logdir)
        if truncate_to is not None:
            from tune_core.loggers import truncate_trial_logs

            _remove_partial_checkpoints(logdir)
            try:
                truncate_trial_logs(logdir, truncate_to)
            except Exception as exc:
                log.error("could not cut the logs of %s back to iteration %d: %r", trial.name, truncate_to, exc)
        self._each("on_trial_start", trial)

    def _guarded(self, func: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            func(*args)
        except Exception as exc:
            log.error("%s failed: %r", getattr(func, "__name__", func), exc)

    def _results(self, trial: Trial, results: list[dict[str, Any]]) -> None:
        for logger in list(self._loggers):
            write: Callable[[Trial, dict[str, Any]], None] = logger.on_trial_result
            try:
                for result in results:
                    write(trial, result)
            except Exception as exc:
                self._drop(logger, "on_trial_result", exc)

    def _each(self, method: str, *args: Any) -> None:
        for logger in list(self._loggers):
            try:
                getattr(logger, method)(*args)
            except Exception as exc:
                self._drop(logger, method, exc)

    def _drop(self, logger: TrialLogger, method: str, exc: Exception) -> None:
        log.error("logger %s failed in %s and is now off: %r", type(logger).__name__, method, exc)
        if logger in self._loggers:
            self._loggers.remove(logger)
