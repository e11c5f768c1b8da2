"""A trial's stdout and stderr, captured at the file-descriptor level into its directory.

Creating two files per trial is slow on many file systems, and most short trials print nothing.
So each stream first goes to a spare file the worker keeps in the experiment directory. When the
trial ends having printed something, or once it has run for ``PLACE_AFTER_S`` (so a long trial's
output can be followed live), the spare is renamed into the trial directory as ``stdout``/``stderr``
and a new spare is made next time. A silent short trial costs no file operation at all.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

__all__ = ["PLACE_AFTER_S", "TrialOutput"]

PLACE_AFTER_S = 2.0
_STREAMS = ((1, "stdout"), (2, "stderr"))


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
            self._started = time.monotonic()

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
        """Place a long-running trial's output files in its directory, so they can be followed live."""
        if self._pending and time.monotonic() - self._started >= PLACE_AFTER_S:
            with self._lock:
                for _, key, target in self._pending:
                    self._place(key, target)
                self._pending = []

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
            path = os.path.join(directory, f".tune_worker_{os.getpid()}.{fd}")
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
        """Remove the spare files (the worker is exiting)."""
        for path, opened in self._spares.values():
            with contextlib.suppress(OSError):
                os.close(opened)
                os.unlink(path)
        self._spares.clear()
