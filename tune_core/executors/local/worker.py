"""A worker process: runs one trial at a time through the trial runtime, for as many trials as sent.

Started by ``LocalExecutor`` as ``python -m tune_core.executors.local.worker CMD_FD RESULT_FD PARENT``
(or forked). It dies with the driver (``PR_SET_PDEATHSIG`` on Linux, plus a parent check), captures
each trial's stdout/stderr into the trial directory, sets the trial's environment, maps pinned
objects from shared memory, and leaves everything else to ``tune_core.runtime.TrialHost``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

from tune_core.executors.local import protocol
from tune_core.executors.local.output import TrialOutput
from tune_core.executors.local.pipes import PipeReader, PipeWriter
from tune_core.interfaces import TrialFailed, TrialLaunch
from tune_core.pinning import set_pin_resolver
from tune_core.runtime.host import TrialHost
from tune_core.runtime.protocol import Transport

__all__ = ["PipeTransport", "main"]


class PipeTransport(Transport):
    """The worker's end of its two pipes, as the trial runtime's transport."""

    def __init__(self, commands: PipeReader, results: PipeWriter):
        self._commands = commands
        self._results = results

    def send(self, *messages: Any) -> None:
        self._results.send(*messages)

    def recv(self, timeout: float | None) -> Any:
        if timeout is None:
            return self._commands.recv()
        if timeout == 0:
            return self._commands.recv() if self._commands.poll() else None
        return self._commands.recv() if self._commands.wait(timeout) else None


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:  # Fallback where prctl is missing (macOS): poll the parent.
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="tune-parent-watch", daemon=True).start()


class _TrialContext:
    """Around each trial: its environment (usually the worker's already: its GPU binding) and its
    captured stdout/stderr. A plain class: a trivial trial's whole cost is a few microseconds."""

    __slots__ = ("_before", "_env", "_fresh", "_workdir")

    def __init__(self, launch: TrialLaunch, workdir: str, fresh: bool):
        self._env = launch.env
        self._workdir = workdir
        self._fresh = fresh
        self._before: dict[str, str | None] = {}

    def __enter__(self) -> None:
        environ = os.environ
        self._before = before = {key: now for key, value in self._env.items() if (now := environ.get(key)) != value}
        for key in before:
            environ[key] = self._env[key]
        _output.start(self._workdir, self._fresh)

    def __exit__(self, *exc: object) -> None:
        try:
            _output.finish()
        finally:
            environ = os.environ
            for key, value in self._before.items():
                if value is None:
                    environ.pop(key, None)
                else:
                    environ[key] = value


_output = TrialOutput()
_pin_paths: dict[str, str] = {}


def _resolve_pin(handle: str) -> Any:
    from tune_core.errors import TuneError
    from tune_core.executors.local import shm

    path = _pin_paths.get(handle)
    if path is None:
        raise TuneError(f"get_pinned_object: no object is pinned as {handle!r} in this driver")
    return shm.load(path)


def _extend_sys_path() -> None:
    extra = os.environ.get("TUNE_CORE_SYS_PATH")
    if extra:
        for entry in extra.split(os.pathsep):
            if entry and entry not in sys.path:
                sys.path.append(entry)


def main(argv: list[str]) -> int:
    """Entry point of a worker started as a fresh interpreter."""
    parent = int(argv[3]) if len(argv) > 3 else os.getppid()
    _extend_sys_path()
    return serve(int(argv[1]), int(argv[2]), parent)


def run_forked(command_fd: int, result_fd: int, parent: int, env: dict[str, str]) -> None:
    """Entry point of a worker forked from a single-threaded driver; never returns."""
    code = 1
    try:
        os.environ.update(env)
        # The parent's sys.stdout/stderr may not write to fds 1 and 2 (a test runner's capture, a
        # notebook); a trial's output is captured at those fds, so print must go there.
        sys.stdout = open(1, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
        sys.stdin = open(os.devnull)  # noqa: SIM115
        # A forked child shares its parent's random state. Python reseeds ``random`` in a forked
        # child by itself; numpy does not, and every worker would draw the same numbers.
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed()
        code = serve(command_fd, result_fd, parent)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(command_fd: int, result_fd: int, parent: int) -> int:
    """Run the trials the driver sends until it says EXIT or goes away."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle.
    commands = PipeReader(command_fd)
    results = PipeWriter(result_fd)
    host = TrialHost(PipeTransport(commands, results), tick=_output.tick)
    set_pin_resolver(_resolve_pin)
    trainables: dict[str, Any] = {}
    while True:
        try:
            message = host.leftover.pop(0) if host.leftover else commands.recv()
        except (EOFError, OSError):
            _output.cleanup()
            return 0
        if type(message) is not tuple:
            continue  # A late Continue/Stop/Pause/Save for a trial that already ended.
        if message[0] == protocol.EXIT:
            _output.cleanup()
            return 0
        if message[0] != protocol.START:
            continue
        _, launch, key, blob, pins = message
        _pin_paths.update(pins)
        try:
            if blob is not None:
                from tune_core.runtime import shipping

                trainables[key] = shipping.loads(blob)
            trainable = trainables[key]
        except BaseException:
            import traceback

            host.send(TrialFailed(launch.trial_id, "could not load the trainable in the worker:\n"
                                  + traceback.format_exc()))
            continue
        host.run(launch, trainable, context=_TrialContext)


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # Nothing left to finalise; skipping interpreter teardown makes shutdown quick.
