"""Runs the loggers on a background thread, so slow file systems never stall the event loop.

Creating files and directories can cost hundreds of microseconds each on a busy disk; done on the
runner's thread it would cap how many trials start per second. Here the runner only enqueues calls;
one thread (in order) makes them. System calls release the GIL, so the disk work overlaps the loop.
The writer knows loggers only through ``TrialLogger``: it calls the same methods on every one, with
the trial's read-only view.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tune_core.interfaces import TrialLogger, TrialView
from tune_core.plugins.provenance import describe
from tune_core.storage import TrialStorage
from tune_core.trial import Trial

if TYPE_CHECKING:
    from tune_core.state import ExperimentState

__all__ = ["LogWriter", "wait_for_pending_writes"]

log = logging.getLogger("tune_core")

_STOP = object()


class _RunView(TrialView):
    """What loggers see of one run of a trial: its view, with the config the run started with.

    The loggers write on another thread, later; a restart with a new config (``restart_trial``)
    must not relabel results the trial reported before it.
    """

    __slots__ = ("config",)  # A slot here outruns the property of TrialView: read for every result.

    config: Any

    def __init__(self, trial: Trial) -> None:
        super().__init__(trial)
        object.__setattr__(self, "config", trial.config)

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

    def __init__(self, loggers: Sequence[TrialLogger], storage: TrialStorage | None = None):
        self._loggers = list(loggers)
        self._storage = storage or TrialStorage()
        self._states: dict[str, ExperimentState] = {}
        #: The view of each trial's current run (runner's thread only).
        self._runs: dict[str, _RunView] = {}
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
    def trial_start(self, trial: Trial, restart_from: int | None = None) -> None:
        """Start logging a run of ``trial``; one restarting from its checkpoint at ``restart_from``
        first has every logger drop what it wrote after that iteration (``on_trial_restart``)."""
        view = self._runs[trial.trial_id] = _RunView(trial)
        self._queue.put((self._start, (view, str(trial.logdir), restart_from)))

    def _view(self, trial: Trial) -> TrialView:
        view = self._runs.get(trial.trial_id)
        if view is None:
            view = self._runs[trial.trial_id] = _RunView(trial)
        return view

    def trial_results(self, trial: Trial, results: list[dict[str, Any]]) -> None:
        if self._loggers:  # Without loggers (a simulation), no wake-up of the writer per result.
            self._queue.put((self._results, (self._view(trial), results)))

    def trial_complete(self, trial: Trial) -> None:
        view = self._runs.pop(trial.trial_id, None) or _RunView(trial)
        self._queue.put((self._each, ("on_trial_complete", view)))

    def flush(self) -> None:
        self._queue.put((self._each, ("flush",)))

    def write_state_soon(self, directory: str, state: ExperimentState) -> None:
        """Write ``state`` into ``directory`` after flushing the logs. A newer snapshot replaces one
        still waiting, so a slow disk holds at most one per directory."""
        with self._state_lock:
            waiting = directory in self._states
            self._states[directory] = state
        if not waiting:
            self._queue.put((self._each, ("flush",)))
            self._queue.put((self._state_queue.put, (directory,)))  # after the flush, hand it over

    def _state_work(self) -> None:
        while (directory := self._state_queue.get()) is not _STOP:
            with self._state_lock:
                state = self._states.pop(directory, None)
            if state is not None:
                self._guarded(state.write, (directory,))

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

    def _start(self, view: TrialView, logdir: str, restart_from: int | None) -> None:
        self._storage.make_trial_dir(logdir)
        if restart_from is not None:
            self._each("on_trial_restart", view, restart_from)
        self._each("on_trial_start", view)

    def _guarded(self, func: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            func(*args)
        except Exception as exc:
            log.error("%s failed: %r", getattr(func, "__name__", func), exc)

    def _results(self, view: TrialView, results: list[dict[str, Any]]) -> None:
        for logger in list(self._loggers):
            write = logger.on_trial_result
            try:
                for result in results:
                    write(view, result)
            except Exception as exc:
                self._drop(logger, "on_trial_result", exc)

    def _each(self, method: str, *args: Any) -> None:
        for logger in list(self._loggers):
            try:
                getattr(logger, method)(*args)
            except Exception as exc:
                self._drop(logger, method, exc)

    def _drop(self, logger: TrialLogger, method: str, exc: Exception) -> None:
        log.error("%s failed in %s.%s and is now off: %r", describe("logger", logger),
                  type(logger).__name__, method, exc)
        if logger in self._loggers:
            self._loggers.remove(logger)
