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
    """Redirects fds 1 and 2 for one trial at a time; ``tick`` is called from a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spares: dict[tuple[str, int], str] = {}
        self._saved: list[tuple[int, int]] = []
        self._pending: list[tuple[int, str, str]] = []  # (fd, spare path, target) not yet placed
        self._started = 0.0

    def start(self, logdir: str) -> None:
        """Point fds 1 and 2 at this trial's output (appending where a restarted trial left some)."""
        sys.stdout.flush()
        sys.stderr.flush()
        directory = os.path.dirname(logdir.rstrip(os.sep)) or "."
        with self._lock:
            self._pending = []
            for fd, name in _STREAMS:
                target = os.path.join(logdir, name)
                try:
                    opened = os.open(target, os.O_WRONLY | os.O_APPEND)
                except FileNotFoundError:
                    spare = self._spare(directory, fd)
                    opened = os.open(spare, os.O_WRONLY | os.O_APPEND)
                    self._pending.append((fd, spare, target))
                self._saved.append((fd, os.dup(fd)))
                os.dup2(opened, fd)
                os.close(opened)
            self._started = time.monotonic()

    def tick(self) -> None:
        """Place a long-running trial's output files in its directory, so they can be followed live."""
        if self._pending and time.monotonic() - self._started >= PLACE_AFTER_S:
            with self._lock:
                for fd, spare, target in self._pending:
                    self._place(fd, spare, target)
                self._pending = []

    def finish(self) -> None:
        """Restore fds 1 and 2; move output the trial wrote into its directory."""
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with self._lock:
            for fd, spare, target in self._pending:
                if os.fstat(fd).st_size:
                    self._place(fd, spare, target)
            self._pending = []
            for fd, original in self._saved:
                os.dup2(original, fd)
                os.close(original)
            self._saved = []

    def _spare(self, directory: str, fd: int) -> str:
        path = self._spares.get((directory, fd))
        if path is None:
            path = os.path.join(directory, f".tune_worker_{os.getpid()}.{fd}")
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
            self._spares[(directory, fd)] = path
        return path

    def _place(self, fd: int, spare: str, target: str) -> None:
        directory = os.path.dirname(spare)
        try:
            os.replace(spare, target)
        except OSError:
            return  # The trial directory is gone; the output stays in the spare.
        self._spares.pop((directory, fd), None)  # A new spare is made for the next trial.

    def cleanup(self) -> None:
        """Remove the spare files (the worker is exiting)."""
        for path in self._spares.values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._spares.clear()
