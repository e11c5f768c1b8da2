"""HyperBand's queue of trials that may be waiting to run, kept up to date as trials come and go, so
that choosing the next trial costs about the same with 100 trials as with 100,000.

``choose_trial_to_run`` wants the first waiting trial by priority: the oldest band, then the least
complete bracket, then the order the trials joined it. ``RunQueue`` keeps each bracket's waiting
trials as a sorted list of their positions, and the brackets that have any by band; choosing walks
them in that order and usually stops at the first entry. An entry is a trial that was pending, or a
survivor that may resume; both are checked when reached (a trial started since is dropped).

The runner does not tell a scheduler everything: a failed trial that is retried goes from
``RUNNING`` back to ``PENDING`` unannounced, as does a trial it chose when a test kit does not start
it. So the queue also watches the trials it last knew to be running or pausing. Before each choice
the pausing ones are looked at (few: a pause takes a step); the running ones only while some trial is
known to be pending (with none, the runner's own list of pending trials is empty, and cheap to ask
for, unless a retried trial is in it).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from tune_core.interfaces import PENDING, RUNNING, TrialView
from tune_hyperband.brackets import Bracket

__all__ = ["RunQueue"]



class RunQueue:
    """Waiting trials by bracket (positions in join order), the pending ones, and the running ones."""

    def __init__(self) -> None:
        #: ``(band, s)`` -> sorted positions of the bracket's trials that may be waiting (never empty).
        self._positions: dict[tuple[int, int], list[int]] = {}
        #: band -> ``s`` of its brackets that have entries.
        self._brackets: dict[int, set[int]] = {}
        #: Trials known to be pending, in the order they became so (those in no bracket too).
        self.pending: dict[str, TrialView] = {}
        #: Pending trials in no bracket, in the runner's order: they go first.
        self.outside: dict[str, TrialView] = {}
        #: Trials last known to be running, and those told to pause: they may come back as pending.
        self.running: dict[str, TrialView] = {}
        self.pausing: dict[str, TrialView] = {}

    def add(self, bracket: Bracket, position: int) -> None:
        key = (bracket.band, bracket.s)
        positions = self._positions.get(key)
        if positions is None:
            self._positions[key] = [position]
            self._brackets.setdefault(bracket.band, set()).add(bracket.s)
            return
        i = bisect_left(positions, position)
        if i == len(positions) or positions[i] != position:
            positions.insert(i, position)

    def discard(self, bracket: Bracket, position: int) -> None:
        key = (bracket.band, bracket.s)
        positions = self._positions.get(key)
        if positions is None:
            return
        i = bisect_left(positions, position)
        if i < len(positions) and positions[i] == position:
            del positions[i]
            if not positions:
                del self._positions[key]
                brackets = self._brackets[bracket.band]
                brackets.discard(bracket.s)
                if not brackets:
                    del self._brackets[bracket.band]

    def forget(self, trial_id: str) -> None:
        """The trial is neither pending nor running (its bracket entry goes separately)."""
        self.pending.pop(trial_id, None)
        self.outside.pop(trial_id, None)
        self.running.pop(trial_id, None)
        self.pausing.pop(trial_id, None)

    def paused(self) -> list[tuple[str, TrialView, str]]:
        """``(id, view, status)`` of the trials told to pause that no longer run (paused, or ended or
        retried instead); they are no longer watched."""
        pausing = self.pausing
        changed = [(t, v, s) for t, v in pausing.items() if (s := v.status) != RUNNING]
        for trial_id, _, _ in changed:
            del pausing[trial_id]
        return changed

    def retried(self) -> list[tuple[str, TrialView, str]]:
        """``(id, view, status)`` of the trials watched as running that no longer run (a failed
        trial retried: pending again); they are no longer watched. One pass over the running trials."""
        running = self.running
        changed = [(t, v, s) for t, v in running.items() if (s := v.status) != RUNNING]
        for trial_id, _, _ in changed:
            del running[trial_id]
        return changed

    def any_pending(self) -> bool:
        """Whether a trial known to be pending still is (those that are not are dropped)."""
        pending = self.pending
        while pending:
            trial_id, view = next(iter(pending.items()))
            if view.status == PENDING:
                return True
            del pending[trial_id]
            self.outside.pop(trial_id, None)
            if view.status == RUNNING:
                self.running[trial_id] = view
        return False

    def in_order(self, bands: list[list[Bracket | None]]) -> Iterator[tuple[Bracket, int]]:
        """``(bracket, position)`` of every entry: the oldest band first, then the least complete
        bracket (then the lower ``s``), then the order trials joined it. Entries may be discarded
        while this runs."""
        for band in sorted(self._brackets) if len(self._brackets) > 1 else list(self._brackets):
            brackets = [b for s in self._brackets.get(band, ()) if (b := bands[band][s]) is not None]
            brackets.sort(key=lambda b: (b.completion(), b.s))
            for bracket in brackets:
                yield from ((bracket, p) for p in list(self._positions.get((bracket.band, bracket.s), ())))
