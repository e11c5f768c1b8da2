"""Commands another thread sends a running experiment: add trials, stop a trial, list the trials.

The runner owns its trials and is not thread-safe; a Client API server, a notebook or a test thread
hands it a command through ``TrialRunner.request`` and gets a ``Future``. The runner applies queued
commands between two steps of its loop, in the order they came, and settles each future with the
trial concerned or with the ``TuneError`` that refused it.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_core.trial import Trial

__all__ = ["AddExperiment", "AddTrial", "Command", "CommandQueue", "ListTrials", "StopTrial"]


@dataclass(frozen=True)
class AddTrial:
    """Add ``trial`` (made with ``Experiment.make_trial``) as PENDING."""

    trial: Trial


@dataclass(frozen=True)
class StopTrial:
    """Stop the trial with this id, whatever its state; a finished trial stays as it ended."""

    trial_id: str


@dataclass(frozen=True)
class AddExperiment:
    """Add the trials of an experiment spec (``{"run": ..., "config": ..., "stop": ...}``) under
    ``name``: every variant its config generates. Its ``local_dir`` defaults to the running
    experiment's. The future resolves to the list of trials added."""

    name: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class ListTrials:
    """Read the trials as they are between two steps; the future resolves to ``trial_summary`` dicts."""


Command = AddTrial | StopTrial | AddExperiment | ListTrials


class CommandQueue:
    """A thread-safe queue of commands, each with the future its sender waits on."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Command, Future[Any]]] = queue.SimpleQueue()

    def put(self, command: Command) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((command, future))
        return future

    def take_all(self) -> list[tuple[Command, Future[Any]]]:
        """The commands waiting now, oldest first, without blocking."""
        taken = []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                return taken

    def empty(self) -> bool:
        return self._queue.empty()
