"""What crosses between an executor's driver side and a trial: the runner's commands, and the transport.

Trial -> driver: the ``tune_core.interfaces`` events (``TrialResults``, ``TrialCheckpointed``,
``TrialPaused``, ``TrialFinished``, ``TrialFailed``), which the executor's ``poll`` hands to the runner
as they come. Driver -> trial: the four commands below. Each is small and pickles fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tune_core.interfaces import DecisionPoint

__all__ = ["Command", "Continue", "Pause", "Save", "Stop", "Transport"]


class _Command:
    """A command for one trial. Plain classes (not dataclasses): cheap to import in every worker."""

    __slots__ = ("trial_id",)

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id

    def __reduce__(self) -> Any:
        return (type(self), (self.trial_id,))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__reduce__() == self.__reduce__()

    def __hash__(self) -> int:
        return hash(self.__reduce__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.__reduce__()[1]!r}"


class Continue(_Command):
    """Release the trial held at a decision point; ``decision_point`` is where it waits next."""

    __slots__ = ("decision_point",)

    def __init__(self, trial_id: str, decision_point: DecisionPoint | None = None) -> None:
        self.trial_id = trial_id
        self.decision_point = decision_point

    def __reduce__(self) -> Any:
        return (Continue, (self.trial_id, self.decision_point))


class Stop(_Command):
    """End the trial now. It still sends what it had buffered and its end; the executor drops both
    (the runner is done with this run)."""

    __slots__ = ()


class Pause(_Command):
    """Checkpoint the trial where it is, then end it with ``TrialPaused``."""

    __slots__ = ()


class Save(_Command):
    """Checkpoint the trial after its current iteration, and go on."""

    __slots__ = ()


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
