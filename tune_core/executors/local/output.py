"""A trial's stdout and stderr, captured at the file-descriptor level into its directory.

Creating two files per trial is slow on many file systems, and most short trials print nothing.
So each stream first goes to a spare file the worker keeps in the experiment directory. When the
trial ends having printed something, or once it has run for ``PLACE_AFTER_S`` and printed (so a
long trial's output can be followed live), the spare is renamed into the trial directory as ``stdout``/``stderr``
and a new spare is made next time. A silent short trial costs no file operation at all.

A worker that dies leaves its spares behind, holding what its last trial printed. Beside them, one
small journal per worker and directory (``.tune_worker_<pid>.trial``, rewritten in place as each
trial starts: one ``pwrite``) names that trial. ``recover`` moves a dead worker's output into its
trial's files (appending, as a restarted trial does) and removes the rest; the driver calls it for
each worker it reaps, and ``recover_orphans`` for the workers of a driver that was killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["PLACE_AFTER_S", "TrialOutput", "is_running", "recover", "recover_orphans"]

PLACE_AFTER_S = 2.0
_STREAMS = ((1, "stdout"), (2, "stderr"))
_JOURNAL = "trial"
_LEFT = re.compile(r"\.tune_worker_(\d+)\.(?:1|2|trial)")


def _left_path(directory: str, pid: int, suffix: object) -> str:
    return os.path.join(directory, f".tune_worker_{pid}.{suffix}")


class TrialOutput:
    """Redirects fds 1 and 2 for one trial at a time; ``tick`` is called from a background thread.

    The worker's own fds 1 and 2 are saved once, and each spare stays open until it is placed, so a
    silent trial costs a few ``dup2`` calls and no file opened or created.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spares: dict[tuple[str, int], tuple[str, int]] = {}  # (directory, fd) -> (path, open fd)
        self._originals: dict[int, int] = {}
        self._pending: list[tuple[int, tuple[str, int], str]] = []  # (fd, spare key, target) not yet placed
        self._journals: dict[str, tuple[str, int]] = {}  # directory -> (path, open fd)
        self._started = 0.0

    def start(self, logdir: str, fresh: bool = False) -> None:
        """Point fds 1 and 2 at this trial's output (appending where a restarted trial left some).

        ``fresh``: the trial directory was just made, so it holds no output to append to.
        """
        sys.stdout.flush()
        sys.stderr.flush()
        directory = os.path.dirname(logdir.rstrip(os.sep)) or "."
        with self._lock:
            self._pending = []
            for fd, name in _STREAMS:
                if fd not in self._originals:
                    self._originals[fd] = os.dup(fd)
                target = os.path.join(logdir, name)
                if not fresh and self._redirect_to_existing(fd, target):
                    continue
                key = (directory, fd)
                os.dup2(self._spare(key), fd)
                self._pending.append((fd, key, target))
            if self._pending:  # Whose output the spares hold, should this worker die with them.
                os.pwrite(self._journal(directory), os.path.basename(logdir.rstrip(os.sep)).encode() + b"\n", 0)
            self._started = time.monotonic()

    def _journal(self, directory: str) -> int:
        journal = self._journals.get(directory)
        if journal is None:
            path = _left_path(directory, os.getpid(), _JOURNAL)
            journal = self._journals[directory] = (path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        return journal[1]

    @staticmethod
    def _redirect_to_existing(fd: int, target: str) -> bool:
        try:
            opened = os.open(target, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return False
        os.dup2(opened, fd)
        os.close(opened)
        return True

    def tick(self) -> None:
        """Place a long-running trial's output files in its directory, so they can be followed live;
        a stream it has not written to yet stays spare (a silent trial never gets an empty file)."""
        if self._pending and time.monotonic() - self._started >= PLACE_AFTER_S:
            with self._lock:
                waiting = []
                for fd, key, target in self._pending:
                    if os.fstat(fd).st_size:
                        self._place(key, target)
                    else:
                        waiting.append((fd, key, target))
                self._pending = waiting

    def finish(self) -> None:
        """Restore fds 1 and 2; move output the trial wrote into its directory."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with self._lock:
            for fd, key, target in self._pending:
                if os.fstat(fd).st_size:
                    self._place(key, target)
            self._pending = []
            for fd, original in self._originals.items():
                os.dup2(original, fd)

    def _spare(self, key: tuple[str, int]) -> int:
        spare = self._spares.get(key)
        if spare is None:
            directory, fd = key
            path = _left_path(directory, os.getpid(), fd)
            spare = self._spares[key] = (path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
                                                       0o644))
        return spare[1]

    def _place(self, key: tuple[str, int], target: str) -> None:
        path, opened = self._spares[key]
        try:
            os.replace(path, target)
        except OSError:  # The trial directory is gone, and its output with it; the spare stays spare.
            os.ftruncate(opened, 0)
            return
        del self._spares[key]  # It is the trial's file now; a new spare is made for the next trial.
        os.close(opened)

    def cleanup(self) -> None:
        """Remove the spare files and journals (the worker is exiting)."""
        for path, opened in [*self._spares.values(), *self._journals.values()]:
            with contextlib.suppress(OSError):
                os.close(opened)
                os.unlink(path)
        self._spares.clear()
        self._journals.clear()


def recover(directory: str, pid: int, trial_dir: str | None = None) -> None:
    """Move what the dead worker ``pid`` left in ``directory`` into its trial's files; remove the rest.

    ``trial_dir``: the trial it ran there last (the driver knows it); by default its journal says.
    Output whose trial directory is gone is dropped with its spare.
    """
    journal = _left_path(directory, pid, _JOURNAL)
    if trial_dir is None:
        with contextlib.suppress(OSError, UnicodeDecodeError), open(journal, "rb") as f:
            name = f.read().split(b"\n", 1)[0].decode()
            if name not in ("", ".", "..") and os.sep not in name:  # A trial directory in ``directory``.
                trial_dir = os.path.join(directory, name)
    for fd, stream in _STREAMS:
        spare = _left_path(directory, pid, fd)
        with contextlib.suppress(OSError):  # Gone already (a clean exit), or a disk that refuses: go on.
            if trial_dir is not None and os.path.getsize(spare) and os.path.isdir(trial_dir):
                _append(spare, os.path.join(trial_dir, stream))
            os.unlink(spare)
    with contextlib.suppress(OSError):
        os.unlink(journal)


def _append(spare: str, target: str) -> None:
    """Put ``spare`` at the end of ``target``: renamed when there is none yet, else copied and removed."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        os.rename(spare, target)
        return
    with open(fd, "ab") as out, open(spare, "rb") as source:
        shutil.copyfileobj(source, out)


def recover_orphans(directory: str, live: Callable[[int], bool] | None = None) -> None:
    """``recover`` the files in ``directory`` of every worker that is gone (its driver was killed).

    ``live(pid)``: whether the files of ``pid`` are in use; default: whether that process exists.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return
    pids = {int(match.group(1)) for name in names if (match := _LEFT.fullmatch(name))}
    for pid in pids:
        if not (live or is_running)(pid):
            recover(directory, pid)


def is_running(pid: int) -> bool:
    """Whether a process ``pid`` exists (any user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
