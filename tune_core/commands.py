"""Commands another thread sends a running experiment: add a trial, stop a trial.

The runner owns its trials and is not thread-safe; a Client API server, a notebook or a test thread
hands it a command through ``TrialRunner.request`` and gets a ``Future``. The runner applies queued
commands between two steps of its loop, in the order they came, and settles each future with the
trial concerned or with the ``TuneError`` that refused it.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tune_core.trial import Trial

__all__ = ["AddTrial", "Command", "CommandQueue", "StopTrial"]


@dataclass(frozen=True)
class AddTrial:
    """Add ``trial`` (made with ``Experiment.make_trial``) as PENDING."""

    trial: Trial


@dataclass(frozen=True)
class StopTrial:
    """Stop the trial with this id, whatever its state; a finished trial stays as it ended."""

    trial_id: str


Command = AddTrial | StopTrial


class CommandQueue:
    """A thread-safe queue of commands, each with the future its sender waits on."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Command, Future[Trial]]] = queue.SimpleQueue()

    def put(self, command: Command) -> Future[Trial]:
        future: Future[Trial] = Future()
        self._queue.put((command, future))
        return future

    def take_all(self) -> list[tuple[Command, Future[Trial]]]:
        """The commands waiting now, oldest first, without blocking."""
        taken = []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                return taken

    def empty(self) -> bool:
        return self._queue.empty()
