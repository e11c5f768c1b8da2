"""Driver side of the local executor: a pool of reusable worker processes, one trial each at a time.

Workers are started on demand (without waiting for them to boot) and kept for later trials. A worker
is bound to the GPUs it was started with, because CUDA reads ``CUDA_VISIBLE_DEVICES`` only once per
process. A worker that dies turns its trial into a failure with the reason; the others carry on,
and what the dead one's trial printed is moved into the trial's files (``output.recover``).
What a worker sends are the trial runtime's events; they are passed on as they come, except those
of a run the runner stopped (the same trial may already run again elsewhere). No worker outlives its
executor: ``shutdown``, or when the executor is garbage-collected or the interpreter exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from typing import Any

from tune_core.errors import TuneError
from tune_core.executors.local import output, protocol
from tune_core.executors.local.gpus import GpuPool
from tune_core.executors.local.pipes import PipeReader, PipeWriter
from tune_core.interfaces import (
    TRIAL_ENDINGS,
    DecisionPoint,
    Executor,
    ExecutorEvent,
    TrialFailed,
    TrialLaunch,
)
from tune_core.pinning import pinned_objects
from tune_core.resources import Resources, detect_gpus
from tune_core.runtime.protocol import Continue, Pause, Save, Stop

__all__ = ["LocalExecutor"]


class _ForkedProcess:
    """The part of ``subprocess.Popen`` the executor uses, for a worker made with ``os.fork()``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            time.sleep(0.002)
        return code

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def can_fork() -> bool:
    """Whether a worker may be forked from this process instead of started as a fresh interpreter.

    Forking is safe only in a single-threaded process (another thread may hold a lock the child
    would inherit locked), and frameworks that start native threads or GPU contexts rule it out.
    ``TUNE_WORKER_START=spawn`` turns it off.
    """
    if os.environ.get("TUNE_WORKER_START", "auto") == "spawn" or not sys.platform.startswith("linux"):
        return False
    if threading.active_count() != 1 or any(m in sys.modules for m in _THREADED_FRAMEWORKS):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1  # Native threads count too.
    except OSError:
        return False


_THREADED_FRAMEWORKS = ("torch", "tensorflow", "jax", "ray")


class _Worker:
    """One worker process and the driver's ends of its pipes."""

    def __init__(self, gpu_key: str, env: dict[str, str], fork: bool = False, inherited: tuple[int, ...] = ()):
        cmd_read, cmd_write = os.pipe()
        res_read, res_write = os.pipe()
        self.proc: subprocess.Popen[bytes] | _ForkedProcess
        if fork:
            self.proc = self._fork(cmd_read, res_write, (cmd_write, res_read, *inherited), gpu_key)
        else:
            argv = [sys.executable, "-m", "tune_core.executors.local.worker",
                    str(cmd_read), str(res_write), str(os.getpid())]
            self.proc = subprocess.Popen(argv, pass_fds=(cmd_read, res_write), stdin=subprocess.DEVNULL,
                                         env=env, close_fds=True)
        os.close(cmd_read)
        os.close(res_write)
        self.commands = PipeWriter(cmd_write)
        self.results = PipeReader(res_read)
        self.gpu_key = gpu_key
        #: The trial of the run this worker is busy with (None: idle), and whether it was stopped.
        self.trial_id: str | None = None
        self.stopping = False
        #: The key of this run's GPUs in the pool (unique per run: a trial id may run again).
        self.gpu_run = ""
        self.trainables: set[str] = set()
        #: Pinned objects this worker holds: inherited when forked, or told where to map.
        self.pins: set[str] = set(pinned_objects()) if fork else set()
        self.stop_deadline: float | None = None
        self.last_used = time.monotonic()
        #: The trial directory of its latest run, and the experiment directories it wrote spares in.
        self.logdir: str | None = None
        self.dirs: set[str] = set()

    @staticmethod
    def _fork(cmd_read: int, res_write: int, close: tuple[int, ...], gpu_key: str) -> _ForkedProcess:
        from tune_core.executors.local import worker

        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # The child: drop the driver's pipe ends, then serve trials until told to exit.
            for fd in close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            worker.run_forked(cmd_read, res_write, parent,
                              {"CUDA_VISIBLE_DEVICES": gpu_key, "TUNE_CORE_WORKER": "1"})
        return _ForkedProcess(pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def fds(self) -> tuple[int, ...]:
        """The driver's file descriptors for this worker (a forked sibling must not keep them)."""
        return (self.commands.fileno(), self.results.fileno())

    def kill(self) -> None:
        """End the process (if it has not ended), then move what it left of a trial's output into
        the trial's files, before anyone hears of its end: a restart appends after it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.commands.close()
        self.results.close()
        last = os.path.dirname(self.logdir) if self.logdir else None
        for directory in self.dirs:
            output.recover(directory, self.pid, self.logdir if directory == last else None)
        self.dirs.clear()


class LocalExecutor(Executor):
    """Runs trials in worker processes on this machine.

    Args:
        num_cpus: CPUs to hand out (default: all of this machine's).
        num_gpus: GPUs to hand out (default: detected; may be declared for testing).
        custom_resources: other named resources this machine offers, e.g. ``{"tpu": 4}``.
        stop_grace_s: how long a trial asked to stop may take before its worker is killed.
    """

    def __init__(
        self,
        num_cpus: float | None = None,
        num_gpus: int | None = None,
        custom_resources: dict[str, float] | None = None,
        stop_grace_s: float = 10.0,
    ):
        gpus = detect_gpus() if num_gpus is None else num_gpus
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
            raise TuneError(f"local executor: `num_gpus` must be a whole number >= 0, got {num_gpus!r}")
        cpus = float(os.cpu_count() or 1) if num_cpus is None else num_cpus
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0:
            raise TuneError(f"local executor: `num_cpus` must be a number > 0, got {num_cpus!r}")
        custom = Resources.from_spec({"custom": custom_resources or {}}, "custom_resources").custom
        self._total = Resources(cpu=float(cpus), gpu=float(gpus), custom=custom)
        self._gpus = GpuPool(gpus)
        self._stop_grace_s = stop_grace_s
        self._workers: list[_Worker] = []
        #: The worker of each trial's current run (a stopped run's worker is no longer here).
        self._by_trial: dict[str, _Worker] = {}
        #: Workers told to exit (after a failure); reaped without waiting for them.
        self._exiting: list[_Worker] = []
        self._blobs: dict[str, bytes] = {}
        #: Pinned objects written to shared memory: handle -> path.
        self._pin_paths: dict[str, str] = {}
        self._runs = 0
        self._env = _worker_env()
        self._max_idle = max(2, int(cpus))
        self._poller = select.poll()
        self._polled: set[int] = set()
        #: Every worker not yet reaped, whatever its state; and the directories checked for the
        #: output of workers of an earlier, killed driver.
        self._live: set[_Worker] = set()
        self._scanned: set[str] = set()
        # Also when a run fails between ``prepare`` and ``shutdown`` and drops the executor: no
        # worker outlives it (the workers die with the driver process in any case).
        weakref.finalize(self, _stop_workers, self._live)

    # --- capacity ---------------------------------------------------------------------------
    def total_resources(self) -> Resources:
        return self._total

    def prepare(self, expected_trials: int | None) -> None:
        """Start CPU workers now, up to one per CPU, so they are up when the first trials start.

        Here, before the run starts its own threads, a single-threaded driver can fork them, which
        takes milliseconds instead of an interpreter start.
        """
        slots = max(1, int(self._total.cpu))
        wanted = slots if expected_trials is None else min(slots, expected_trials)
        have = sum(1 for w in self._workers if w.gpu_key == "")
        fork = can_fork()
        for _ in range(wanted - have):
            self._spawn("", fork=fork)

    def fits(self, resources: Resources) -> bool:
        return self._gpus.can_assign(resources.gpu)

    # --- trials -----------------------------------------------------------------------------
    def start_trial(self, launch: TrialLaunch) -> str:
        self._runs += 1
        gpu_run = f"{launch.trial_id}#{self._runs}"
        devices = self._gpus.assign(gpu_run, launch.resources.gpu)
        gpu_key = ",".join(str(d) for d in devices)
        worker = self._idle_worker(gpu_key) or self._spawn(gpu_key)
        self._adopt_output(worker, launch.logdir)
        # Two trainables may share a name (two objects of one class): the worker keys them by both.
        key = f"{launch.trainable_name}#{id(launch.trainable):x}"
        blob = None
        if key not in worker.trainables:
            blob = self._blobs.get(key)
            if blob is None:
                from tune_core.runtime import shipping

                blob = self._blobs[key] = shipping.dumps(launch.trainable)
            worker.trainables.add(key)
        env = dict(launch.env, CUDA_VISIBLE_DEVICES=gpu_key)
        message = dataclasses.replace(launch, trainable=None, env=env)
        worker.trial_id = launch.trial_id
        worker.stopping = False
        worker.gpu_run = gpu_run
        worker.stop_deadline = None
        self._by_trial[launch.trial_id] = worker
        try:
            worker.commands.send((protocol.START, message, key, blob, self._pins_for(worker)))
        except OSError:
            pass  # The worker died before reading; poll() reports the failure.
        return f"pid={worker.pid}"

    def _adopt_output(self, worker: _Worker, logdir: str) -> None:
        """Before a trial in a directory new to this executor: recover what workers of a killed
        driver left there (a resumed trial appends after it). Then note where ``worker`` writes."""
        logdir = os.path.normpath(logdir)
        directory = os.path.dirname(logdir)
        if directory not in self._scanned:
            self._scanned.add(directory)
            ours = {w.pid: w for w in self._live}

            def live(pid: int) -> bool:  # A pid of ours reused from a dead worker: its files are old.
                mine = ours.get(pid)
                return directory in mine.dirs if mine is not None else output.is_running(pid)

            output.recover_orphans(directory, live)
        worker.logdir = logdir
        worker.dirs.add(directory)

    def _pins_for(self, worker: _Worker) -> dict[str, str]:
        """Where the worker maps the pinned objects it does not hold yet (written on first need)."""
        pinned = pinned_objects()
        if len(worker.pins) == len(pinned):
            return {}
        from tune_core.executors.local import shm

        new = {}
        for handle, obj in pinned.items():
            if handle not in worker.pins:
                path = self._pin_paths.get(handle)
                if path is None:
                    path = self._pin_paths[handle] = shm.write(obj)
                new[handle] = path
                worker.pins.add(handle)
        return new

    def _idle_worker(self, gpu_key: str) -> _Worker | None:
        for worker in self._workers:
            if worker.trial_id is None and worker.gpu_key == gpu_key:
                return worker
        return None

    def _spawn(self, gpu_key: str, fork: bool = False) -> _Worker:
        idle = [w for w in self._workers if w.trial_id is None]
        if len(idle) >= self._max_idle:  # Bound the pool: retire the least recently used idle worker.
            victim = min(idle, key=lambda w: w.last_used)
            self._retire(victim)
        inherited = tuple(fd for w in self._workers for fd in w.fds())
        worker = _Worker(gpu_key, dict(self._env, CUDA_VISIBLE_DEVICES=gpu_key), fork=fork, inherited=inherited)
        self._workers.append(worker)
        self._live.add(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        worker.kill()
        self._live.discard(worker)

    def _retire(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        try:
            worker.commands.send((protocol.EXIT,))
            worker.proc.wait(timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill(worker)

    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        worker = self._by_trial.get(trial_id)
        if worker is not None:
            self._send(worker, Continue(trial_id, decision_point))

    def pause_trial(self, trial_id: str) -> bool:
        worker = self._by_trial.get(trial_id)
        if worker is None:
            return False
        self._send(worker, Pause(trial_id))
        return True

    def save_trial(self, trial_id: str) -> bool:
        worker = self._by_trial.get(trial_id)
        if worker is None:
            return False
        self._send(worker, Save(trial_id))
        return True

    def stop_trial(self, trial_id: str) -> None:
        worker = self._by_trial.pop(trial_id, None)
        if worker is None:
            return
        worker.stopping = True
        worker.stop_deadline = time.monotonic() + self._stop_grace_s
        self._send(worker, Stop(trial_id))

    def _send(self, worker: _Worker, message: Any) -> None:
        try:
            worker.commands.send(message)
        except OSError:
            pass  # Dead worker: poll() sees the closed pipe and reports it.

    # --- events -----------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = []
        if not self._workers:
            time.sleep(min(timeout, 0.05))
            return events
        deadline_wait = self._next_deadline()
        if deadline_wait is not None:
            timeout = min(timeout, deadline_wait)
        for worker in self._ready(timeout):
            try:
                while True:
                    self._handle(worker, worker.results.recv(), events)
                    if not worker.results.poll():
                        break
            except (EOFError, OSError):
                self._lost(worker, events)
        self._kill_overdue()
        self._reap_exiting()
        return events

    def _ready(self, timeout: float) -> list[_Worker]:
        """The workers with a message (or a closed pipe) waiting, after blocking up to ``timeout``.

        One ``poll`` object serves every call; it is rebuilt only when the set of workers changes.
        """
        by_fd = {w.results.fileno(): w for w in self._workers}
        if by_fd.keys() != self._polled:
            self._poller = select.poll()
            for fd in by_fd:
                self._poller.register(fd, select.POLLIN | select.POLLHUP)
            self._polled = set(by_fd)
        buffered = [w for w in by_fd.values() if w.results.has_frame()]
        if buffered:
            return buffered
        return [by_fd[fd] for fd, _ in self._poller.poll(max(timeout, 0.0) * 1000.0)]

    def _reap_exiting(self) -> None:
        for worker in list(self._exiting):
            if worker.proc.poll() is not None:
                self._exiting.remove(worker)
                self._kill(worker)

    def _handle(self, worker: _Worker, event: Any, events: list[ExecutorEvent]) -> None:
        if isinstance(event, TRIAL_ENDINGS):
            stopped = worker.stopping
            self._release(worker)
            if type(event) is TrialFailed:
                self._retire_failed(worker)  # A restart gets a fresh process, not this one's leftovers.
            if not stopped:
                events.append(event)
        elif not worker.stopping:
            events.append(event)  # Results and checkpoints of the run the runner still wants.

    def _retire_failed(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
            self._send(worker, (protocol.EXIT,))
            self._exiting.append(worker)

    def _release(self, worker: _Worker) -> None:
        """The worker's run ended: it is free for the next trial."""
        self._gpus.release(worker.gpu_run)
        if worker.trial_id is not None and self._by_trial.get(worker.trial_id) is worker:
            del self._by_trial[worker.trial_id]
        worker.trial_id = None
        worker.stopping = False
        worker.stop_deadline = None
        worker.last_used = time.monotonic()

    def _lost(self, worker: _Worker, events: list[ExecutorEvent]) -> None:
        """The worker's pipe closed: it died. Fail its trial with the reason."""
        code = worker.proc.wait()
        trial_id, stopped = worker.trial_id, worker.stopping
        for pool in (self._workers, self._exiting):  # A retired worker may close its pipe first.
            if worker in pool:
                pool.remove(worker)
        self._kill(worker)
        if trial_id is None:
            return
        self._release(worker)
        if not stopped:
            events.append(TrialFailed(trial_id, describe_exit(worker.pid, code)))

    def _next_deadline(self) -> float | None:
        deadlines = [w.stop_deadline for w in self._workers if w.stop_deadline is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.stop_deadline is not None and now >= worker.stop_deadline and worker.trial_id:
                self._workers.remove(worker)
                self._kill(worker)
                self._release(worker)

    def busy_worker_pids(self) -> dict[str, int]:
        """Trial id -> pid of the worker running it (for tests and diagnostics)."""
        return {trial_id: worker.pid for trial_id, worker in self._by_trial.items()}

    def shutdown(self) -> None:
        self._workers, self._exiting = [], []
        _stop_workers(self._live)
        self._by_trial.clear()


def _worker_env() -> dict[str, str]:
    """The driver's environment, plus what a worker needs to import tune_core and the user's code."""
    import tune_core

    home = os.path.dirname(os.path.dirname(os.path.abspath(tune_core.__file__)))
    python_path = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=python_path, TUNE_CORE_WORKER="1",
                TUNE_CORE_SYS_PATH=os.pathsep.join(os.path.abspath(p) for p in sys.path if p))


def describe_exit(pid: int, code: int) -> str:
    """A clear reason for a worker that died under its trial."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"worker process pid={pid} died: killed by {name} ({-code})"
        if -code == signal.SIGKILL:
            text += "; if nothing killed it on purpose, the machine may have run out of memory"
        elif -code == signal.SIGSEGV:
            text += " (segmentation fault in native code)"
        return text
    return f"worker process pid={pid} exited unexpectedly with code {code}"


def _stop_workers(live: set[_Worker]) -> None:
    """Stop every worker in ``live`` (their trials first), give them 2 s to exit, kill the rest.

    A function of the set alone, not of the executor: it also runs when the executor is collected.
    """
    workers = list(live)
    for worker in workers:
        with contextlib.suppress(OSError):
            if worker.trial_id is not None:
                worker.commands.send(Stop(worker.trial_id))
            worker.commands.send((protocol.EXIT,))
    deadline = time.monotonic() + 2.0
    for worker in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        worker.kill()
        live.discard(worker)
