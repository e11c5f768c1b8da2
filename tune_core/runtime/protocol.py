"""What crosses between an executor's driver side and a trial: the runner's commands, and the transport.

Trial -> driver: the ``tune_core.interfaces`` events (``TrialResults``, ``TrialCheckpointed``,
``TrialPaused``, ``TrialFinished``, ``TrialFailed``), which the executor's ``poll`` hands to the runner
as they come. Driver -> trial: the four commands below. Each is small and pickles fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from tune_core.interfaces import DecisionPoint

__all__ = ["Command", "Continue", "Pause", "Save", "Stop", "Transport"]


@dataclass(frozen=True)
class Continue:
    """Release the trial held at a decision point; ``decision_point`` is where it waits next."""

    trial_id: str
    decision_point: DecisionPoint | None = None

    def __reduce__(self) -> Any:
        return (Continue, (self.trial_id, self.decision_point))


@dataclass(frozen=True)
class Stop:
    """End the trial now; it reports nothing more."""

    trial_id: str

    def __reduce__(self) -> Any:
        return (Stop, (self.trial_id,))


@dataclass(frozen=True)
class Pause:
    """Checkpoint the trial where it is, then end it with ``TrialPaused``."""

    trial_id: str

    def __reduce__(self) -> Any:
        return (Pause, (self.trial_id,))


@dataclass(frozen=True)
class Save:
    """Checkpoint the trial after its current iteration, and go on."""

    trial_id: str

    def __reduce__(self) -> Any:
        return (Save, (self.trial_id,))


Command = Continue | Stop | Pause | Save


class Transport(ABC):
    """The trial side's line to its executor's driver side. Each executor writes one.

    Examples: the local executor's pair of pipes, a pair of queues for threads, a Ray actor's queues.
    Anything else the executor sends down the same line (its own "start"/"exit" messages) reaches
    ``TrialHost.leftover`` when it arrives while a trial runs.
    """

    @abstractmethod
    def send(self, *messages: Any) -> None:
        """Deliver ``messages`` to the driver side in order, in one write where the transport can."""

    @abstractmethod
    def recv(self, timeout: float | None) -> Any:
        """The next message from the driver side; ``None`` when nothing came within ``timeout``
        seconds (``0``: do not wait; ``None``: wait as long as it takes).

        Raises:
            EOFError: the driver side is gone.
        """
