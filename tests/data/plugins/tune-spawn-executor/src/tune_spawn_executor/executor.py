"""``SpawnExecutor``: every trial in a fresh process, in a scratch directory of its own.

The driver side keeps one ``multiprocessing`` connection per run; the trial side is tune-core's trial
runtime (``TrialHost``) over that connection. Nothing assumes the driver's disk: the trial writes into
a temporary directory, checkpoints come back as bytes, and a restore is shipped as bytes too.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from tune_core.interfaces import (
    TRIAL_ENDINGS,
    Checkpoint,
    DecisionPoint,
    Executor,
    ExecutorEvent,
    Resources,
    TrialFailed,
    TrialLaunch,
)
from tune_core.runtime import (
    Continue,
    Pause,
    Save,
    Stop,
    Transport,
    TrialHost,
    pack_checkpoint,
    pinned_objects,
    set_pin_resolver,
)

__all__ = ["SpawnExecutor"]

_CONTEXT = multiprocessing.get_context("spawn")


class _ConnectionTransport(Transport):
    """The trial side of one connection: a batch of events per message."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def send(self, *messages: Any) -> None:
        self._connection.send(messages)

    def recv(self, timeout: float | None) -> Any:
        if not self._connection.poll(timeout):
            return None
        return self._connection.recv()


def _trial_process(connection: Connection, launch: TrialLaunch, blob: bytes, pins: dict[str, Any]) -> None:
    """The child: run one trial in a scratch directory, then remove it."""
    set_pin_resolver(pins.__getitem__)
    scratch = tempfile.mkdtemp(prefix=f"tune-spawn-{launch.trial_id}-")
    host = TrialHost(_ConnectionTransport(connection), shared_storage=False)
    try:
        host.run(launch, cloudpickle.loads(blob), workdir=scratch)
    finally:
        host.close()
        shutil.rmtree(scratch, ignore_errors=True)
        connection.close()


class _Run:
    __slots__ = ("connection", "deadline", "process", "stopping", "trial_id")

    def __init__(self, trial_id: str, connection: Connection, process: Any) -> None:
        self.trial_id = trial_id
        self.connection = connection
        self.process = process
        self.stopping = False
        self.deadline: float | None = None


class SpawnExecutor(Executor):
    """A fresh process per trial.

    Args:
        num_cpus: how many 1-CPU trials run at once.
        stop_grace_s: how long a stopped trial may take before its process is killed.
    """

    def __init__(self, num_cpus: float = 2, stop_grace_s: float = 10.0) -> None:
        self._total = Resources(cpu=float(num_cpus))
        self._stop_grace_s = stop_grace_s
        self._current: dict[str, _Run] = {}
        self._runs: list[_Run] = []

    def total_resources(self) -> Resources:
        return self._total

    def start_trial(self, launch: TrialLaunch) -> str:
        restore = launch.restore
        if restore is not None and restore.path is not None:  # The trial cannot read our disk.
            restore = Checkpoint(restore.iteration, data=pack_checkpoint(restore.path))
        shipped = TrialLaunch(**{**vars(launch), "trainable": None, "restore": restore})
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_trial_process, daemon=True, name=f"tune-spawn-{launch.trial_id}",
            args=(theirs, shipped, cloudpickle.dumps(launch.trainable), dict(pinned_objects())),
        )
        process.start()
        theirs.close()
        run = _Run(launch.trial_id, ours, process)
        self._current[launch.trial_id] = run
        self._runs.append(run)
        return f"pid={process.pid}"

    def _send(self, trial_id: str, command: Any) -> bool:
        run = self._current.get(trial_id)
        if run is None:
            return False
        try:
            run.connection.send(command)
        except OSError:
            return False
        return True

    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        self._send(trial_id, Continue(trial_id, decision_point))

    def pause_trial(self, trial_id: str) -> bool:
        return self._send(trial_id, Pause(trial_id))

    def save_trial(self, trial_id: str) -> bool:
        return self._send(trial_id, Save(trial_id))

    def stop_trial(self, trial_id: str) -> None:
        run = self._current.pop(trial_id, None)
        if run is None:
            return
        run.stopping = True
        run.deadline = time.monotonic() + self._stop_grace_s
        try:
            run.connection.send(Stop(trial_id))
        except OSError:
            pass

    def poll(self, timeout: float) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = []
        if not self._runs:
            time.sleep(min(timeout, 0.05))
            return events
        by_connection = {run.connection: run for run in self._runs}
        for connection in wait(list(by_connection), timeout):
            run = by_connection[connection]  # type: ignore[index]
            try:
                while connection.poll():  # type: ignore[union-attr]
                    for event in connection.recv():  # type: ignore[union-attr]
                        self._take(run, event, events)
            except (EOFError, OSError):
                self._gone(run, events)
        now = time.monotonic()
        for run in list(self._runs):
            if run.deadline is not None and now >= run.deadline:
                run.process.kill()
                self._gone(run, events)
        return events

    def _take(self, run: _Run, event: Any, events: list[ExecutorEvent]) -> None:
        if not run.stopping:
            events.append(event)
        if isinstance(event, TRIAL_ENDINGS):
            self._forget(run)

    def _gone(self, run: _Run, events: list[ExecutorEvent]) -> None:
        """The run's process closed its end: finished (already reported) or died."""
        if run not in self._runs:
            return
        self._forget(run)
        run.process.join(timeout=5)
        if not run.stopping:
            events.append(TrialFailed(run.trial_id, f"trial process pid={run.process.pid} died "
                                                    f"(exit code {run.process.exitcode})"))

    def _forget(self, run: _Run) -> None:
        if run in self._runs:
            self._runs.remove(run)
        if self._current.get(run.trial_id) is run:
            del self._current[run.trial_id]
        run.connection.close()

    def shutdown(self) -> None:
        for trial_id in list(self._current):
            self.stop_trial(trial_id)
        for run in list(self._runs):
            run.process.join(timeout=2)
            if run.process.is_alive():
                run.process.kill()
            self._forget(run)
