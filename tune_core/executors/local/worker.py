"""A worker process: runs one trial at a time, for as many trials as the driver sends it.

Started by ``LocalExecutor`` as ``python -m tune_core.executors.local.worker CMD_FD RESULT_FD``. It
dies with the driver (``PR_SET_PDEATHSIG`` on Linux, plus a parent check), captures each trial's
stdout/stderr into the trial directory, and reports every outcome to the driver.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tune_core.executors.local import protocol
from tune_core.executors.local.output import TrialOutput
from tune_core.executors.local.pipes import PipeReader, PipeWriter
from tune_core.executors.local.session import (
    Channel,
    Session,
    TrialPaused,
    TrialStopped,
    set_current_session,
)
from tune_core.interfaces import TrialLaunch
from tune_core.paths import make_dir

__all__ = ["main"]


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


@contextlib.contextmanager
def _trial_env(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` while the trial runs; usually it matches the worker's already (its GPU binding)."""
    environ = os.environ
    before = {key: now for key, value in env.items() if (now := environ.get(key)) != value}
    for key in before:
        environ[key] = env[key]
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value


def _run_function(func: Any, session: Session) -> None:
    """Call ``func`` once; on a restart, first continue the session from the trial's checkpoint.

    A bad ``restore_path`` raises ``TuneError`` naming it, failing the trial before the function
    runs from a wrong start. The checkpoint module is imported only when there is one to restore.
    """
    config = dict(session.launch.config)
    if session.launch.restore_path:
        from tune_core.executors.local.checkpoints import restore

        session.restored = restore(session, session.launch.restore_path)
    returned = func(config, session.report) if _takes_reporter(func) else func(config)
    if isinstance(returned, dict):
        session.report(**returned)


def _takes_reporter(func: Any) -> bool:
    """Whether ``func`` is the seed's ``f(config, reporter)`` rather than ``f(config)``."""
    code = getattr(func, "__code__", None)
    if code is not None and not (code.co_flags & 0x04):  # A plain function without *args.
        return code.co_argcount - (1 if hasattr(func, "__self__") else 0) >= 2
    import inspect

    return len(inspect.signature(func).parameters) >= 2


def _save(trainable: Any, logdir: str, iteration: int, channel: Channel, trial_id: str) -> None:
    """Checkpoint under a temporary name and rename when complete: a half-written one is never used."""
    final = os.path.join(logdir, f"checkpoint_{iteration:06d}")
    tmp = os.path.join(logdir, f".tmp_checkpoint_{iteration:06d}")
    trainable.save(tmp)
    if os.path.exists(final):
        import shutil

        shutil.rmtree(final)
    os.replace(tmp, final)
    channel.send((protocol.CHECKPOINT, trial_id, str(final), iteration))


def _run_class(cls: Any, session: Session, channel: Channel) -> None:
    launch = session.launch
    trainable = cls(
        config=dict(launch.config), logdir=launch.logdir, trial_id=launch.trial_id,
        experiment_id=launch.experiment_id,
    )
    try:
        if launch.restore_path:
            trainable.restore(launch.restore_path)
        while True:
            result = trainable.train()
            going = session.submit(result)
            iteration = trainable.iteration
            if going and launch.checkpoint_freq and iteration % launch.checkpoint_freq == 0:
                _save(trainable, launch.logdir, iteration, channel, launch.trial_id)
            if not going:
                if channel.pause_requested(launch.trial_id):
                    raise TrialPaused
                if launch.checkpoint_at_end and result.get("done"):
                    _save(trainable, launch.logdir, iteration, channel, launch.trial_id)
                break
    except TrialPaused:  # Held at a decision point, or asked while running: save where it is.
        _save(trainable, launch.logdir, trainable.iteration, channel, launch.trial_id)
        raise
    finally:
        trainable.stop()


_output = TrialOutput()


@contextlib.contextmanager
def _captured(logdir: str, fresh: bool) -> Iterator[None]:
    _output.start(logdir, fresh)
    try:
        yield
    finally:
        _output.finish()


def run_trial(launch: TrialLaunch, trainable: Any, channel: Channel) -> None:
    """Run one trial to its end and tell the driver how it ended."""
    session = Session(channel, launch)
    set_current_session(session)
    ended = protocol.FINISHED
    try:
        fresh = make_dir(launch.logdir)
        with _trial_env(launch.env), _captured(launch.logdir, fresh):
            try:
                if isinstance(trainable, type):
                    _run_class(trainable, session, channel)
                else:
                    _run_function(trainable, session)
                    channel.mark_done()
            except TrialStopped:
                if channel.pause_requested(launch.trial_id):
                    ended = protocol.PAUSED
            except BaseException:
                text = _format_exc()
                sys.stderr.write(text)
                channel.send((protocol.FAILED, launch.trial_id, text))
                return
        channel.send((ended, launch.trial_id))
    finally:
        set_current_session(None)
        channel.clear(launch.trial_id)


def _extend_sys_path() -> None:
    extra = os.environ.get("TUNE_CORE_SYS_PATH")
    if extra:
        for entry in extra.split(os.pathsep):
            if entry and entry not in sys.path:
                sys.path.append(entry)


def _format_exc() -> str:
    import traceback  # Only failures pay for it.

    return traceback.format_exc()


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
    channel = Channel(results, commands, tick=_output.tick)
    trainables: dict[str, Any] = {}
    while True:
        try:
            message = channel.recv_command()
        except (EOFError, OSError):
            _output.cleanup()
            return 0
        kind = message[0]
        if kind == protocol.EXIT:
            _output.cleanup()
            return 0
        if kind != protocol.START:
            continue  # A late CONTINUE/STOP for a trial that already ended.
        launch, blob = message[1], message[2]
        try:
            if blob is not None:
                import cloudpickle

                trainables[launch.trainable_name] = cloudpickle.loads(blob)
            trainable = trainables[launch.trainable_name]
        except BaseException:
            channel.send((protocol.FAILED, launch.trial_id, "could not load the trainable in the worker:\n"
                          + _format_exc()))
            continue
        run_trial(launch, trainable, channel)


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # Nothing left to finalise; skipping interpreter teardown makes shutdown quick.
