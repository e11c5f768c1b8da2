"""HyperBand's brackets: the seed's schedule of each bracket, and a bracket's trials as it halves."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

__all__ = ["BRACKETS_PER_BAND", "Bracket", "bracket_schedule"]

#: The seed's ``s_max + 1``: brackets per band, whatever ``max_t`` and ``reduction_factor`` are.
BRACKETS_PER_BAND = 5


def bracket_schedule(s: int, max_t: float, eta: float) -> list[tuple[int, float]] | None:
    """``[(n, milestone), ...]`` of bracket ``s``: how many trials run up to each cumulative milestone;
    ``None`` for a bracket too small to run (``r0 == 0``).

    Exact arithmetic (``Fraction``), so ``ceil(5 / 3 * 9)`` is 15 and not 16. The last milestone is
    ``max_t``.
    """
    scale = Fraction(eta) ** s
    n = math.ceil(Fraction(BRACKETS_PER_BAND, s + 1) * scale)
    exact = Fraction(max_t) / scale
    r: float = int(exact) if isinstance(max_t, int) else float(exact)
    if r <= 0:
        return None
    stages: list[tuple[int, float]] = [(n, r)]
    milestone = r
    for _ in range(s):
        if milestone >= max_t:
            break
        n = math.ceil(Fraction(n) / Fraction(eta))
        r = min(eta * r, max_t - milestone)
        if isinstance(max_t, int):
            r = int(r)
        milestone += r
        stages.append((n, milestone))
    last_n, _ = stages[-1]
    stages[-1] = (last_n, max_t)  # The survivors always run to max_t (the seed could stop short of it).
    return stages


@dataclass
class Bracket:
    """One bracket of a band: its schedule, its trials, and where each live trial is."""

    band: int
    s: int
    stages: list[tuple[int, float]]
    stage: int = 0
    #: Every trial id ever put here, in order (capacity: ``stages[0][0]``).
    trials: list[str] = field(default_factory=list)
    #: Live trial id -> its latest time (``None`` before a result with ``time_attr``).
    times: dict[str, float | None] = field(default_factory=dict)
    #: Live trial id -> its latest reward (higher is better).
    rewards: dict[str, float] = field(default_factory=dict)
    stopped: int = 0
    completed: int = 0
    work_done: float = 0.0
    #: Live trials at or past the milestone (derived from ``times``; not saved).
    reached: set[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.reached = {t for t, time in self.times.items() if time is not None and time >= self.milestone}

    @property
    def milestone(self) -> float:
        return self.stages[self.stage][1]

    @property
    def size(self) -> int:
        return self.stages[self.stage][0]

    @property
    def is_final(self) -> bool:
        return self.stage == len(self.stages) - 1

    def filled(self) -> bool:
        """No more trials join: it has its ``n0``, or it has halved already."""
        return self.stage > 0 or len(self.trials) >= self.stages[0][0]

    def total_work(self) -> float:
        work, previous = 0.0, 0.0
        for n, milestone in self.stages:
            work += n * (milestone - previous)
            previous = milestone
        return work

    def completion(self) -> float:
        return min(1.0, self.work_done / self.total_work())

    def add(self, trial_id: str, time: float | None, reward: float) -> None:
        self.trials.append(trial_id)
        self.times[trial_id] = None
        self.rewards[trial_id] = reward
        self.set_time(trial_id, time)

    def set_time(self, trial_id: str, time: float | None) -> None:
        final = self.stages[-1][1]
        previous = self.times[trial_id]
        self.work_done += min(time or 0, final) - min(previous or 0, final)
        self.times[trial_id] = time
        if time is not None and time >= self.milestone:
            self.reached.add(trial_id)
        else:
            self.reached.discard(trial_id)

    def has_reached(self, trial_id: str) -> bool:
        return trial_id in self.reached

    def remove(self, trial_id: str) -> None:
        self.times.pop(trial_id, None)
        self.rewards.pop(trial_id, None)
        self.reached.discard(trial_id)

    def all_reached(self) -> bool:
        return len(self.reached) == len(self.times)

    def halve(self) -> tuple[list[str], list[str]]:
        """Go to the next stage: the best ``n`` live trials (ties: the earlier trial) and the rest."""
        self.stage += 1
        order = {t: i for i, t in enumerate(self.trials)}
        ranked = sorted(self.times, key=lambda t: (-self.rewards[t], order[t]))
        good, bad = ranked[: self.size], ranked[self.size:]
        self.reached = {t for t in good if (time := self.times[t]) is not None and time >= self.milestone}
        return good, bad

    def state(self) -> dict[str, Any]:
        """The fields, not copied: ``save``'s value is pickled at once."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}
