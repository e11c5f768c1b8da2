"""PBT's view of its population, kept up to date result by result so that a decision costs about the
same for 10 trials as for 10,000: ``Population`` holds a ``Ranking`` (the live trials with a score,
in order) and a ``WaitQueue`` (the trials waiting to run, the furthest behind first).

Both hold sorted lists of keys that end in ``(..., order, trial_id)``, ``order`` being when the
trial was added: among equal values the earlier trial comes first, as a stable sort of the runner's
trial list leaves them. Lists are kept sorted with ``bisect`` (a ``list.insert``/``del`` of a few
thousand entries is a memmove, far below the cost of one Python-level loop over them).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from tune_core.interfaces import PAUSED, PENDING, RUNNING, TrialRunnerView, TrialView

__all__ = ["Population", "Ranking", "WaitQueue", "resources_key"]


class Ranking:
    """Live trials by score, ascending: ``(score, order, trial_id)``.

    A NaN score has no place in an order; such trials are kept aside in ``nan`` and the scheduler
    ranks by a full sort while there are any (as it always did).
    """

    def __init__(self) -> None:
        self._keys: list[tuple[float, int, str]] = []
        self._key_of: dict[str, tuple[float, int, str]] = {}
        self.nan: set[str] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def set(self, trial_id: str, score: float, order: int) -> None:
        self.discard(trial_id)
        if score != score:  # NaN
            self.nan.add(trial_id)
            return
        key = (score, order, trial_id)
        self._key_of[trial_id] = key
        insort(self._keys, key)

    def discard(self, trial_id: str) -> None:
        key = self._key_of.pop(trial_id, None)
        if key is None:
            self.nan.discard(trial_id)
            return
        del self._keys[bisect_left(self._keys, key)]

    def clear(self) -> None:
        self._keys.clear()
        self._key_of.clear()
        self.nan.clear()

    def position(self, trial_id: str) -> int | None:
        """The trial's index in the ranking (0: the worst), or ``None`` if it is not ranked."""
        key = self._key_of.get(trial_id)
        return None if key is None else bisect_left(self._keys, key)

    def id_at(self, index: int) -> str:
        return self._keys[index][2]

    def ids(self, start: int, stop: int) -> list[str]:
        return [key[2] for key in self._keys[start:stop]]


def resources_key(resources: Any) -> Hashable:
    """What a trial asks for, as a value: trials asking for the same fit or not together."""
    try:
        custom = tuple(sorted(resources.custom.items()))
        return (resources.cpu, resources.gpu, resources.extra_cpu, resources.extra_gpu, custom)
    except (AttributeError, TypeError):
        return ("object", id(resources))


class WaitQueue:
    """Trials that wait to run, or soon will, by ``(time behind, order, trial_id)``: one sorted list
    per distinct resource request, so the furthest behind trial that fits is found without looking
    at the others. The scheduler checks each trial's status as it reads the queue: an entry may be a
    trial that is still pausing (``RUNNING``) or has ended since."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, list[tuple[float, int, str]]] = {}
        self._where: dict[str, tuple[list[tuple[float, int, str]], tuple[float, int, str]]] = {}

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._where))

    def put(self, trial_id: str, group: Hashable, behind: float, order: int) -> None:
        """Add the trial, or move it to its new place."""
        if behind != behind:  # NaN: after every number
            behind = math.inf
        key = (behind, order, trial_id)
        where = self._where.get(trial_id)
        if where is not None:
            if where[1] == key:
                return
            entries = where[0]
            del entries[bisect_left(entries, where[1])]
        members = self._groups.get(group)
        if members is None:
            members = self._groups[group] = []
        insort(members, key)
        self._where[trial_id] = (members, key)

    def discard(self, trial_id: str) -> None:
        where = self._where.pop(trial_id, None)
        if where is not None:
            entries, key = where
            del entries[bisect_left(entries, key)]

    def groups(self) -> list[list[tuple[float, int, str]]]:
        """Each resource request's entries, furthest behind first (read them, do not change them)."""
        return [entries for entries in self._groups.values() if entries]


class Population:
    """The trials PBT knows of: ranked by score, and queued while they wait.

    Args:
        behind: a trial's ``time_attr`` at its latest perturbation (what orders the queue).
    """

    def __init__(self, behind: Callable[[TrialView], float]) -> None:
        self._behind = behind
        #: Every trial seen: its view, and when it was added (ties in every order go to the earlier).
        self.views: dict[str, TrialView] = {}
        self.order: dict[str, int] = {}
        self._groups: dict[str, Hashable] = {}
        #: Live trials with a score, by score.
        self.ranking = Ranking()
        #: Trials that wait to run, or will once their pause completes, by time behind.
        self._queue = WaitQueue()
        #: Trials believed running, the one heard from longest ago first (see ``_sweep``).
        self._running: OrderedDict[str, TrialView] = OrderedDict()

    # --- what the scheduler tells it ----------------------------------------------------------
    def add(self, trial: TrialView, score: float | None) -> None:
        """The runner added ``trial`` (also each trial of a resumed run, ``score`` its saved one)."""
        self._know(trial)
        if trial.is_finished():
            self.forget(trial.trial_id)
            return
        if score is not None:
            self.rank(trial.trial_id, score)
        if trial.trial_id not in self._running:
            # Queued whatever its status: a RUNNING trial added here (a restored twin of a running
            # scheduler) may be pausing; it leaves the queue with its next result.
            self.wait(trial)

    def rank(self, trial_id: str, score: float) -> None:
        self.ranking.set(trial_id, score, self.order[trial_id])

    def rekey(self, scores: Mapping[str, float | None]) -> None:
        """The scheduler's states were restored: rank and queue the known trials by them."""
        self.ranking.clear()
        for tid, view in self.views.items():
            score = scores.get(tid)
            if score is not None and not view.is_finished():
                self.rank(tid, score)
        for tid in self._queue:
            self.wait(self.views[tid])

    def forget(self, trial_id: str) -> None:
        """The trial has ended: it is neither ranked nor waiting any more."""
        self.ranking.discard(trial_id)
        self._queue.discard(trial_id)
        self._running.pop(trial_id, None)

    def wait(self, trial: TrialView) -> None:
        """``trial`` waits to run (or will: it is pausing); call again when its time behind changes."""
        tid = trial.trial_id
        self._running.pop(tid, None)
        self._queue.put(tid, self._groups[tid], self._behind(trial), self.order[tid])

    def runs(self, trial: TrialView) -> None:
        """``trial`` runs (it reported, or is about to start): last in the order of ``_sweep``."""
        tid = trial.trial_id
        if tid in self._running:
            self._running.move_to_end(tid)
            return
        self._know(trial)
        self._queue.discard(tid)
        self._running[tid] = trial

    def place(self, trial: TrialView) -> None:
        """Queue or not, by the trial's status now (after the runner acted on it)."""
        if trial.is_finished():
            self.forget(trial.trial_id)
        elif trial.status == RUNNING:
            self.runs(trial)
        else:
            self.wait(trial)

    # --- what the scheduler asks --------------------------------------------------------------
    def someone_behind(self, t: float) -> bool:
        """Whether a waiting trial's time behind is less than ``t``."""
        for entries in self._queue.groups():
            other = self._first_waiting(entries)
            if other is not None and self._behind(other) < t:
                return True
        return False

    def choose(self, runner: TrialRunnerView) -> TrialView | None:
        """The waiting trial furthest behind (the earliest added among equals) that fits now; it is
        about to run."""
        self._sweep()
        best = self._furthest_behind(runner)
        if best is None and self._resync(runner):
            best = self._furthest_behind(runner)
        if best is not None:
            self.runs(best)
        return best

    # --- inside ---------------------------------------------------------------------------------
    def _know(self, trial: TrialView) -> None:
        tid = trial.trial_id
        if tid not in self.order:
            self.order[tid] = len(self.order)
            self.views[tid] = trial
            self._groups[tid] = resources_key(trial.resources)

    def _furthest_behind(self, runner: TrialRunnerView) -> TrialView | None:
        best: TrialView | None = None
        best_key: tuple[float, int] = (math.inf, -1)
        for entries in self._queue.groups():
            trial = self._first_waiting(entries)
            if trial is None:
                continue
            key = (self._behind(trial), self.order[trial.trial_id])
            if key < best_key and runner.has_resources(trial.resources):
                best, best_key = trial, key
        return best

    def _sweep(self) -> None:
        """Queue the running trials the runner put back to wait without a word: a trial that failed
        and will be retried is ``PENDING`` again. The runner does not tell the scheduler, so look at
        the trials not heard from for longest (a running trial reports each iteration; one that failed
        falls to the front once the others reported again), as long as they are not running."""
        stopped = []
        for trial in self._running.values():
            if trial.status == RUNNING:
                break
            stopped.append(trial)
        for trial in stopped:
            self.place(trial)

    def _resync(self, runner: TrialRunnerView) -> bool:
        """Queue every waiting trial the queue misses; whether there was one. Costs a pass over the
        waiting trials: only when the queue has no trial to start while the runner asks for one."""
        found = False
        for trial in runner.trials_with_status(PENDING, PAUSED):
            if trial.trial_id not in self._queue:
                self._know(trial)
                self.wait(trial)
                found = True
        return found

    def _first_waiting(self, entries: list[tuple[float, int, str]]) -> TrialView | None:
        """The first trial of a queue's list that waits (``PENDING``, ``PAUSED``); ended trials go."""
        views = self.views
        ended: list[str] = []
        chosen = None
        for entry in entries:
            trial = views[entry[2]]
            status = trial.status
            if status in (PENDING, PAUSED):
                chosen = trial
                break
            if status != RUNNING:  # Ended without a word to the scheduler.
                ended.append(entry[2])
        for tid in ended:
            self.forget(tid)
        return chosen
