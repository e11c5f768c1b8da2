"""Synchronous HyperBand (Li et al., 2017) with the seed's bracket math: successive halving in
brackets of a band, the losers stopped, the survivors paused at each milestone and resumed together.

A band has ``BRACKETS_PER_BAND`` (5) brackets. Bracket ``s`` starts ``n0 = ceil(5 / (s + 1) * eta**s)``
trials with the budget ``r0 = int(max_t * eta**-s)`` (a bracket with ``r0 == 0`` is skipped); each time
all its live trials reach the milestone, the best ``n = ceil(n / eta)`` go on for
``r = min(eta * r, max_t - milestone)`` more, the others stop. Trials fill the brackets in order, then a
new band opens. With ``max_t=81``, ``eta=3``: (n, r) = (5, 81), (8, 27), (15, 9), (34, 3), (81, 1),
143 trials; the last bracket keeps 81 -> 27 -> 9 -> 3 -> 1 trials at 1, 4, 13, 40, and its winner runs
to 81.

Each trial waits at its bracket's milestone (a ``DecisionPoint``) and pauses there until the bracket
halves. The runner makes trials a few at a time, so a bracket that is not full yet waits for the rest
unless none are coming (no pending trial, and none added for a step or nothing running); trials that
finish, fail or are stopped early no longer count, so a bracket never waits for them.

The trials that may run next are kept in a queue (``waiting.RunQueue``) as trials join, report,
pause and leave, so a choice costs about as much with 100,000 trials as with 100 and no trial is
scanned or sorted to make it; it is the choice a sort of every waiting trial would make.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    PAUSED,
    PENDING,
    RUNNING,
    STOP,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_hyperband._common import Objective, strictly_above
from tune_hyperband.brackets import BRACKETS_PER_BAND, Bracket, bracket_schedule
from tune_hyperband.waiting import RunQueue

__all__ = ["BRACKETS_PER_BAND", "HyperBandScheduler"]

_OWNER = "HyperBandScheduler"


class HyperBandScheduler(Objective, TrialScheduler):
    """Synchronous HyperBand: successive halving in brackets, pausing trials at each milestone.

    Needs trials that can pause and resume (a class ``Trainable`` with ``_save``/``_restore``; a
    function trainable resumes from its own latest checkpoint, or from scratch).

    Args:
        time_attr: the result field that measures a trial's budget; must grow from result to result.
        reward_attr: the seed's name of the field to maximise; or use ``metric`` and ``mode``.
        max_t: the budget of the trials that run longest (``time_attr`` units).
        metric, mode: the objective (``mode`` "min" or "max"; default "max"); from ``run`` if unset.
        reduction_factor: ``eta``; a third (``1/eta``) of the trials survive each halving.
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        reward_attr: str | None = None,
        max_t: float = 81,
        metric: str | None = None,
        mode: str | None = None,
        reduction_factor: float = 3,
    ) -> None:
        self._check_objective(_OWNER, time_attr=time_attr, metric=metric, mode=mode, reward_attr=reward_attr)
        strictly_above(_OWNER, "max_t", max_t, 0)
        strictly_above(_OWNER, "reduction_factor", reduction_factor, 1)
        self._max_t = max_t
        self._eta = reduction_factor
        self._bands: list[list[Bracket | None]] = []
        self._bracket_of: dict[str, Bracket] = {}
        self._num_stopped = 0
        #: Brackets to look at in ``choose_trial_to_run``: restored ones, and brackets whose live
        #: trials all wait at the milestone while the bracket is not full yet.
        self._unsettled: list[Bracket] = []
        #: Trials added so far, and that count when ``choose_trial_to_run`` last ended a step with
        #: no pending trial (see ``choose_trial_to_run``).
        self._added = 0
        self._quiet_at = -1
        #: Live trials below their bracket's milestone that may be paused: the ones to resume.
        self._resumable: dict[str, None] = {}
        #: Trial id -> its place in its bracket (the order trials joined it).
        self._position: dict[str, int] = {}
        self._views: dict[str, TrialView] = {}
        #: The trials that may be waiting to run, in the order to run them (see ``waiting``); built
        #: from the runner's trials on the first ``choose_trial_to_run`` after a restore.
        self._queue = RunQueue()
        self._synced = False

    # --- pickling: views belong to one run ------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_views={}, _queue=RunQueue(), _synced=False)
        return state

    # --- trials joining and leaving ---------------------------------------------------------------
    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._views[trial.trial_id] = trial
        if trial.trial_id not in self._bracket_of and not trial.is_finished():
            bracket = self._open_bracket()
            bracket.add(trial.trial_id, self._time(trial.last_result), self._reward(trial.last_result or {}))
            self._bracket_of[trial.trial_id] = bracket
            self._position[trial.trial_id] = len(bracket.trials) - 1
            self._added += 1
            if trial.status == PAUSED and not bracket.has_reached(trial.trial_id):
                self._resume(trial.trial_id)
        self._note(trial.trial_id, trial, trial.status)

    def _open_bracket(self) -> Bracket:
        """The bracket the next trial joins: the current one until it is full, then the next bracket
        of the band that can run, then a new band."""
        band = self._bands[-1] if self._bands else None
        current = band[-1] if band else None
        if current is not None and not current.filled():
            return current
        while True:
            if band is None or len(band) >= BRACKETS_PER_BAND:
                band = []
                self._bands.append(band)
            s = len(band)
            stages = bracket_schedule(s, self._max_t, self._eta)
            bracket = None if stages is None else Bracket(band=len(self._bands) - 1, s=s, stages=stages)
            band.append(bracket)
            if bracket is not None:
                return bracket

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView,
                          result: Mapping[str, Any] | None) -> None:
        self._views.setdefault(trial.trial_id, trial)
        self._dequeue(trial.trial_id)
        bracket = self._bracket_of.get(trial.trial_id)
        if bracket is None or trial.trial_id not in bracket.times:
            return
        if result is not None:
            bracket.set_time(trial.trial_id, self._time(result))
        bracket.remove(trial.trial_id)
        bracket.completed += 1
        self._settle(runner, bracket)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._dequeue(trial.trial_id)
        bracket = self._bracket_of.get(trial.trial_id)
        if bracket is None or trial.trial_id not in bracket.times:
            return  # Stopped by this scheduler: already out of its bracket.
        bracket.remove(trial.trial_id)
        bracket.stopped += 1
        self._settle(runner, bracket)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self.on_trial_remove(runner, trial)

    # --- decisions --------------------------------------------------------------------------------
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        trial_id = trial.trial_id
        if trial_id not in self._bracket_of:
            self.on_trial_add(runner, trial)
        self._unqueue(trial_id)  # It runs.
        decision = self._decide(runner, trial_id, result)
        queue = self._queue
        if decision != STOP:  # Watched: it may come back as pending (a retry after a failure).
            watched, other = (queue.pausing, queue.running) if decision == PAUSE else (queue.running, queue.pausing)
            watched[trial_id] = trial
            other.pop(trial_id, None)
        return decision

    def _decide(self, runner: TrialRunnerView, trial_id: str, result: dict[str, Any]) -> str:
        bracket = self._bracket_of.get(trial_id)
        if bracket is None or trial_id not in bracket.times:
            return STOP  # Its bracket already let it go.
        bracket.rewards[trial_id] = self._reward(result)
        bracket.set_time(trial_id, self._time(result))
        if not bracket.has_reached(trial_id):
            return CONTINUE
        decision = self._settle(runner, bracket, current=trial_id)
        return decision or CONTINUE

    def _settle(self, runner: TrialRunnerView, bracket: Bracket, current: str | None = None,
                force: bool = False) -> str | None:
        """Advance ``bracket`` as far as its live trials allow; the decision for ``current``.

        At the last milestone every trial that reached it is done. Before it, once every live trial
        has reached the milestone (the rest ended: finished, failed or stopped), the bracket halves:
        the losers stop, the survivors go on (a paused one is resumed by ``choose_trial_to_run``).
        A survivor already past the next milestone counts as arrived, so this may halve again.

        A bracket that is not full yet waits for the trials still to come (the runner makes them a
        few at a time), unless ``force``: ``choose_trial_to_run`` forces it once none come.
        """
        while bracket.times:
            if bracket.is_final:
                for trial_id in [t for t in bracket.times if bracket.has_reached(t)]:
                    bracket.completed += 1
                    self._let_go(runner, bracket, trial_id, current)
                break
            if not bracket.all_reached():
                break
            if not (bracket.filled() or force):
                if bracket not in self._unsettled:
                    self._unsettled.append(bracket)
                break
            survivors, losers = bracket.halve()
            for trial_id in survivors:
                if not bracket.has_reached(trial_id):
                    self._resume(trial_id)
            for trial_id in losers:
                bracket.stopped += 1
                self._num_stopped += 1
                self._let_go(runner, bracket, trial_id, current)
        if current is None:
            return None
        if current not in bracket.times:
            return STOP
        return PAUSE if bracket.has_reached(current) else CONTINUE

    def _let_go(self, runner: TrialRunnerView, bracket: Bracket, trial_id: str, current: str | None) -> None:
        """Take the trial out of its bracket, then stop it (``current`` gets ``STOP`` returned)."""
        bracket.remove(trial_id)
        self._dequeue(trial_id)
        if trial_id == current:
            return
        view = self._views.get(trial_id) or runner.get_trial(trial_id)
        if view is not None and not view.is_finished():
            runner.stop_trial(view)

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        bracket = self._bracket_of.get(trial.trial_id)
        if bracket is None or trial.trial_id not in bracket.times:
            return None
        return DecisionPoint(self._time_attr, bracket.milestone)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        """A pending trial or a paused survivor; the least complete bracket of the oldest band first."""
        if not self._synced:
            self._sync(runner)
        queue = self._queue
        for trial_id, view, status in queue.paused():
            self._note(trial_id, view, status)
        if queue.any_pending():
            # A trial that failed and is retried is pending again, unannounced: look for one among
            # the running trials (the runner's list of pending trials costs more while it is long).
            for trial_id, view, status in queue.retried():
                self._note(trial_id, view, status)
            pending = True
        else:
            for view in runner.trials_with_status(PENDING):  # Empty, at no cost, unless one is retried.
                self._views.setdefault(view.trial_id, view)
                self._note(view.trial_id, view, PENDING)
            pending = queue.any_pending()
        if self._unsettled:
            # Trials still to come would be pending by now (the runner makes them before it asks):
            # with none pending, nothing running, or no trial added for a whole step, none come.
            force = not pending and (self._quiet_at == self._added or not runner.trials_with_status(RUNNING))
            for bracket in self._unsettled[:]:
                self._unsettled.remove(bracket)
                self._settle(runner, bracket, force=force)
        chosen = self._first_waiting(runner)
        if chosen is None and not pending:
            # The end of a step with no pending trial. If the runner adds none before the next step's
            # first call either, the search has none for now: a bracket waiting to fill halves then.
            self._quiet_at = self._added
        # The chosen trial stays queued until it is seen running (the caller may not start it).
        return chosen

    def _first_waiting(self, runner: TrialRunnerView) -> TrialView | None:
        """The first waiting trial by priority whose resources are free: pending trials in no bracket
        (in the runner's order), then by band, bracket completion, ``s`` and the order trials joined
        their bracket (no tie depends on dict order, so a restored scheduler chooses exactly as the
        one that saved). Entries that no longer wait are dropped on the way."""
        queue = self._queue
        refused: set[int] = set()  # A request that does not fit is asked about once per call.
        for trial_id, outside in list(queue.outside.items()):
            if outside.status != PENDING:
                queue.outside.pop(trial_id, None)
                continue
            if self._fits(runner, outside, refused):
                return outside
        for bracket, position in queue.in_order(self._bands):
            trial_id = bracket.trials[position]
            view = self._views.get(trial_id) or runner.get_trial(trial_id)
            if view is None:
                queue.discard(bracket, position)
                continue
            status = view.status
            if status == PENDING or (status == PAUSED and trial_id in self._resumable
                                     and trial_id in bracket.times and not bracket.has_reached(trial_id)):
                if self._fits(runner, view, refused):
                    return view
                continue
            # Started, paused or ended since it was queued: a running one is watched, and queued
            # again once pending, or paused while it may resume (``_note``).
            queue.discard(bracket, position)
            if status == RUNNING and trial_id not in queue.pausing:
                queue.running[trial_id] = view
        return None

    @staticmethod
    def _fits(runner: TrialRunnerView, view: TrialView, refused: set[int]) -> bool:
        request = view.resources
        if id(request) in refused:
            return False
        if runner.has_resources(request):
            return True
        refused.add(id(request))
        return False

    # --- the queue of waiting trials -------------------------------------------------------------
    def _note(self, trial_id: str, view: TrialView, status: str) -> None:
        """Queue or watch a trial seen in ``status``: pending, it waits; running, it may come back."""
        queue = self._queue
        if status == PENDING:
            queue.running.pop(trial_id, None)
            queue.pausing.pop(trial_id, None)
            queue.pending[trial_id] = view
            bracket = self._bracket_of.get(trial_id)
            if bracket is None:
                queue.outside[trial_id] = view
            else:
                queue.add(bracket, self._position[trial_id])
        elif status == RUNNING:
            queue.running[trial_id] = view
        elif status == PAUSED and trial_id in self._resumable:
            queue.running.pop(trial_id, None)
            queue.add(self._bracket_of[trial_id], self._position[trial_id])

    def _resume(self, trial_id: str) -> None:
        """A survivor below its bracket's milestone: it runs again once paused (queued now, unless it
        runs: then when it is seen paused)."""
        self._resumable[trial_id] = None
        if trial_id not in self._queue.running:
            self._queue.add(self._bracket_of[trial_id], self._position[trial_id])

    def _unqueue(self, trial_id: str) -> None:
        """The trial runs: no longer to resume (nor pending)."""
        self._resumable.pop(trial_id, None)
        queue = self._queue
        queue.pending.pop(trial_id, None)
        queue.outside.pop(trial_id, None)
        bracket = self._bracket_of.get(trial_id)
        if bracket is not None:
            queue.discard(bracket, self._position[trial_id])

    def _dequeue(self, trial_id: str) -> None:
        """The trial leaves its bracket or ends: out of every queue."""
        self._unqueue(trial_id)
        self._queue.forget(trial_id)

    def _sync(self, runner: TrialRunnerView) -> None:
        """Build the queue from the runner's trials: after a restore or unpickling (views belong to
        one run), or on the first call (trials the runner never announced go first)."""
        self._queue = RunQueue()
        self._synced = True
        for status in (PENDING, RUNNING, PAUSED):
            for view in runner.trials_with_status(status):
                self._views.setdefault(view.trial_id, view)
                self._note(view.trial_id, view, status)
        for trial_id in self._resumable:
            if (bracket := self._bracket_of.get(trial_id)) is not None:
                self._queue.add(bracket, self._position[trial_id])

    # --- status and state -------------------------------------------------------------------------
    def debug_string(self) -> str:
        brackets = sum(b is not None for band in self._bands for b in band)
        lines = [f"Using HyperBand: num_stopped={self._num_stopped} total_brackets={brackets}"]
        live = [i for i, band in enumerate(self._bands) if any(b is not None and b.times for b in band)]
        if live and len(live) < len(self._bands):
            lines.append(f"Rounds finished: {len(self._bands) - len(live)}")
        # The rounds still running (the last three of them), else the last one.
        for index in live[-3:] if live else range(len(self._bands))[-1:]:
            lines.append(f"Round #{index}:")
            lines.extend(f"  {self._describe(b)}" for b in self._bands[index] if b is not None)
        return "\n".join(lines)

    def _describe(self, bracket: Bracket) -> str:
        counts: dict[str, int] = {}
        for trial_id in bracket.trials:
            view = self._views.get(trial_id)
            status = view.status if view is not None else "UNKNOWN"
            counts[status] = counts.get(status, 0) + 1
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        return (f"Bracket(Max Size (n)={bracket.size}, Milestone (r)={bracket.milestone:g}, "
                f"completed={bracket.completion():.1%}): {{{statuses}}}")

    def brackets(self) -> Iterator[tuple[int, int, int, float]]:
        """``(band, s, n, milestone)`` of every bracket opened so far, as it is now."""
        for band in self._bands:
            for bracket in band:
                if bracket is not None:
                    yield bracket.band, bracket.s, bracket.size, bracket.milestone

    def save(self) -> Any:
        return {
            "version": 1,
            "bands": [[None if b is None else b.state() for b in band] for band in self._bands],
            "num_stopped": self._num_stopped,
            "added": self._added,
            "quiet_at": self._quiet_at,
            "unsettled": [(b.band, b.s) for b in self._unsettled],
            "resumable": list(self._resumable),
        }

    def restore(self, state: Any) -> None:
        self._bands, self._bracket_of, self._position = [], {}, {}
        for band in state["bands"]:
            restored: list[Bracket | None] = []
            for data in band:
                if data is None:
                    restored.append(None)
                    continue
                data = dict(data, stages=[tuple(stage) for stage in data["stages"]])
                bracket = Bracket(**data)
                restored.append(bracket)
                for position, trial_id in enumerate(bracket.trials):
                    self._bracket_of[trial_id] = bracket
                    self._position[trial_id] = position
            self._bands.append(restored)
        self._num_stopped = state["num_stopped"]
        self._added, self._quiet_at = state["added"], state["quiet_at"]
        self._unsettled = [b for band, s in state["unsettled"] if (b := self._bands[band][s]) is not None]
        self._resumable = dict.fromkeys(state["resumable"])
        self._queue, self._synced = RunQueue(), False
