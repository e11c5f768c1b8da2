"""An executor that runs each trial on a thread of the driver's own process, through the trial runtime.

No process isolation: trials share the driver's memory, environment and stdout, a crashing trial can
take the driver with it, and Python threads share one CPU for pure-Python code. In return, nothing
is pickled or started: a debugger stops inside a trial, a notebook's objects are used as they are,
and a runner test runs in milliseconds. ``tune_core.testing`` uses it for fast tests of the runner
and schedulers; users pick it with ``executor="thread"``.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from tune_core.errors import TuneError
from tune_core.interfaces import (
    TRIAL_ENDINGS,
    DecisionPoint,
    Executor,
    ExecutorEvent,
    TrialLaunch,
)
from tune_core.resources import Resources
from tune_core.runtime.host import TrialHost
from tune_core.runtime.protocol import Continue, Pause, Save, Stop, Transport

__all__ = ["ThreadExecutor"]



class _Run:
    """One run of one trial: its thread and its end of the line."""

    __slots__ = ("commands", "stopping", "thread", "trial_id")

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        self.commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.stopping = False
        self.thread: threading.Thread | None = None


class _QueueTransport(Transport):
    """A trial thread's line: events into the executor's queue, commands from its own."""

    def __init__(self, run: _Run, events: queue.SimpleQueue[tuple[_Run, Any]]) -> None:
        self._run = run
        self._events = events

    def send(self, *messages: Any) -> None:
        for message in messages:
            self._events.put((self._run, message))

    def recv(self, timeout: float | None) -> Any:
        try:
            if timeout == 0:
                return self._run.commands.get_nowait()
            return self._run.commands.get(timeout=timeout)
        except queue.Empty:
            return None


class ThreadExecutor(Executor):
    """Runs trials on threads of this process.

    Args:
        num_cpus: how many trials (of 1 CPU each) may run at once.
        num_gpus: GPUs to account for (nothing is placed: every trial sees the driver's devices).
        custom_resources: other named resources to hand out.
        stop_grace_s: how long ``shutdown`` waits for a trial to notice it was stopped.
    """

    def __init__(self, num_cpus: float = 2, num_gpus: float = 0,
                 custom_resources: dict[str, float] | None = None, stop_grace_s: float = 10.0):
        if isinstance(num_cpus, bool) or not isinstance(num_cpus, (int, float)) or num_cpus <= 0:
            raise TuneError(f"thread executor: `num_cpus` must be a number > 0, got {num_cpus!r}")
        custom = Resources.from_spec({"custom": custom_resources or {}}, "custom_resources").custom
        self._total = Resources(cpu=float(num_cpus), gpu=float(num_gpus), custom=custom)
        self._stop_grace_s = stop_grace_s
        self._events: queue.SimpleQueue[tuple[_Run, Any]] = queue.SimpleQueue()
        #: The current run of each trial (a stopped run is no longer here).
        self._runs: dict[str, _Run] = {}
        self._threads: list[threading.Thread] = []

    def total_resources(self) -> Resources:
        return self._total

    def start_trial(self, launch: TrialLaunch) -> str:
        run = _Run(launch.trial_id)
        host = TrialHost(_QueueTransport(run, self._events))
        thread = threading.Thread(target=self._serve, args=(host, launch), daemon=True,
                                  name=f"tune-trial-{launch.trial_id}")
        run.thread = thread
        self._runs[launch.trial_id] = run
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return f"thread {thread.name}"

    @staticmethod
    def _serve(host: TrialHost, launch: TrialLaunch) -> None:
        try:
            host.run(launch, launch.trainable)
        finally:
            host.close()

    def _command(self, trial_id: str, command: Any) -> bool:
        run = self._runs.get(trial_id)
        if run is None:
            return False
        run.commands.put(command)
        return True

    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        self._command(trial_id, Continue(trial_id, decision_point))

    def pause_trial(self, trial_id: str) -> bool:
        return self._command(trial_id, Pause(trial_id))

    def save_trial(self, trial_id: str) -> bool:
        return self._command(trial_id, Save(trial_id))

    def stop_trial(self, trial_id: str) -> None:
        run = self._runs.pop(trial_id, None)
        if run is not None:
            run.stopping = True
            run.commands.put(Stop(trial_id))

    def poll(self, timeout: float) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = []
        try:
            item = self._events.get(timeout=max(timeout, 0.0)) if timeout > 0 else self._events.get_nowait()
        except queue.Empty:
            return events
        while True:
            run, event = item
            if isinstance(event, TRIAL_ENDINGS) and self._runs.get(run.trial_id) is run:
                del self._runs[run.trial_id]
            if not run.stopping:
                events.append(event)
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                return events

    def shutdown(self) -> None:
        for trial_id in list(self._runs):
            self.stop_trial(trial_id)
        deadline = time.monotonic() + self._stop_grace_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
