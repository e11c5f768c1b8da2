"""Asynchronous HyperBand, ASHA (Li et al., 2018): early stopping at rungs, no pausing.

Bracket ``s`` has rungs at ``grace_period * reduction_factor**(k + s)`` below ``max_t``. A trial that
reaches a rung is compared with the rewards recorded there before it: below their
``1 - 1/reduction_factor`` quantile (linear interpolation, as numpy's ``percentile``) it stops, else it
goes on and its reward is recorded. A trial that reaches ``max_t`` stops. Each trial waits for the
decision exactly at its next rung (a ``DecisionPoint``), so it never trains past a rung undecided.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tune_core import TuneError, options
from tune_core.interfaces import (
    CONTINUE,
    PAUSED,
    PENDING,
    STOP,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_hyperband._common import Objective, quantile, strictly_above

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler"]

_OWNER = "AsyncHyperBandScheduler"


def rung_milestones(grace_period: float, max_t: float, reduction_factor: float, s: int) -> list[float]:
    """Milestones of bracket ``s``, ascending: ``grace_period * rf**(k + s)`` below ``max_t``."""
    milestones: list[float] = []
    exact = Fraction(grace_period) * Fraction(reduction_factor) ** s
    integral = all(isinstance(v, int) for v in (grace_period, reduction_factor))
    while exact < max_t:
        milestones.append(int(exact) if integral else float(exact))
        exact *= Fraction(reduction_factor)
    return milestones


@dataclass
class _Rung:
    """The rewards recorded at one milestone (higher is better), kept sorted for the quantile."""

    milestone: float
    #: Trial id -> reward: every trial decided here (a reward of -inf: missing or NaN).
    recorded: dict[str, float] = field(default_factory=dict)
    ordered: list[float] = field(default_factory=list)

    def cutoff(self, q: float) -> float | None:
        return quantile(self.ordered, q) if self.ordered else None

    def record(self, trial_id: str, reward: float) -> None:
        self.recorded[trial_id] = reward
        if reward != -math.inf:  # Not a number: it says nothing about the others' cutoff.
            bisect.insort(self.ordered, reward)


class AsyncHyperBandScheduler(Objective, TrialScheduler):
    """ASHA: stop a trial at a rung when it is below the top ``1/reduction_factor`` there.

    Args:
        time_attr: the result field that measures a trial's budget; must grow from result to result.
        reward_attr: the seed's name of the field to maximise; or use ``metric`` and ``mode``.
        max_t: trials stop at this ``time_attr``.
        grace_period: the first rung; no trial stops before it.
        reduction_factor: the rungs are this far apart, and ``1/reduction_factor`` of the trials
            reaching a rung go on.
        brackets: how many brackets (bracket ``s`` starts at ``grace_period * rf**s``); a new trial
            joins one at random, weighted by ``exp(rungs)`` (the seed's softmax).
        metric, mode: the objective (``mode`` "min" or "max"; default "max"); from ``run`` if unset.
        seed: seeds the bracket choice (``None``: unseeded); with one bracket nothing is random.
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        reward_attr: str | None = None,
        max_t: float = 100,
        grace_period: float = 10,
        reduction_factor: float = 3,
        brackets: int = 3,
        metric: str | None = None,
        mode: str | None = None,
        seed: int | None = 0,
    ) -> None:
        self._check_objective(_OWNER, time_attr=time_attr, metric=metric, mode=mode, reward_attr=reward_attr)
        strictly_above(_OWNER, "max_t", max_t, 0)
        strictly_above(_OWNER, "grace_period", grace_period, 0)
        if grace_period > max_t:
            raise TuneError(f"{_OWNER}: `grace_period` must be <= max_t ({max_t!r}), got {grace_period!r}")
        strictly_above(_OWNER, "reduction_factor", reduction_factor, 1)
        options.integer(_OWNER, "brackets", brackets, minimum=1)
        options.integer(_OWNER, "seed", seed, optional=True)
        self._max_t = max_t
        self._quantile = 1 - 1 / reduction_factor
        self._rungs = [[_Rung(m) for m in rung_milestones(grace_period, max_t, reduction_factor, s)]
                       for s in range(brackets)]
        self._rng = random.Random(seed)
        #: Live trial id -> [bracket index, index of the next rung to decide at].
        self._trials: dict[str, list[int]] = {}
        self._num_stopped = 0

    # --- trials joining and leaving ---------------------------------------------------------------
    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        if trial.trial_id not in self._trials and not trial.is_finished():
            self._trials[trial.trial_id] = [self._choose_bracket(), 0]

    def _choose_bracket(self) -> int:
        if len(self._rungs) == 1:
            return 0
        sizes = [len(rungs) for rungs in self._rungs]
        weights = [math.exp(size - max(sizes)) for size in sizes]
        pick = self._rng.random() * sum(weights)
        for index, weight in enumerate(weights):
            pick -= weight
            if pick < 0:
                return index
        return len(weights) - 1

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView,
                          result: Mapping[str, Any] | None) -> None:
        # As in the seed, a finished trial's last result counts at the highest rung it reached.
        if result is not None and trial.trial_id in self._trials:
            self._decide(trial.trial_id, result)
        self._trials.pop(trial.trial_id, None)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._trials.pop(trial.trial_id, None)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._trials.pop(trial.trial_id, None)

    # --- decisions --------------------------------------------------------------------------------
    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.trial_id not in self._trials:
            self.on_trial_add(runner, trial)
        time = self._time(result)
        if time is not None and time >= self._max_t:
            decision = STOP
        else:
            decision = self._decide(trial.trial_id, result)
        if decision == STOP:
            self._num_stopped += 1
        return decision

    def _decide(self, trial_id: str, result: Mapping[str, Any]) -> str:
        """At the highest rung ``result`` reached that the trial was not decided at yet: STOP when
        below the cutoff of the rewards recorded there before it, else CONTINUE; either way its
        reward is recorded there (as in the seed)."""
        time = self._time(result)
        state = self._trials.get(trial_id)
        if time is None or state is None:
            return CONTINUE
        bracket, next_rung = state
        rungs = self._rungs[bracket]
        reached = bisect.bisect_right([r.milestone for r in rungs], time) - 1
        if reached < next_rung:
            return CONTINUE
        rung = rungs[reached]
        state[1] = reached + 1  # Lower rungs it skipped are never decided at.
        reward = self._reward(result)
        cutoff = rung.cutoff(self._quantile)
        rung.record(trial_id, reward)
        return STOP if cutoff is not None and reward < cutoff else CONTINUE

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        state = self._trials.get(trial.trial_id)
        if state is None:
            return DecisionPoint(self._time_attr, self._max_t)
        bracket, next_rung = state
        rungs = self._rungs[bracket]
        milestone = rungs[next_rung].milestone if next_rung < len(rungs) else self._max_t
        return DecisionPoint(self._time_attr, milestone)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return (runner.first_fitting(runner.trials_with_status(PENDING))
                or runner.first_fitting(runner.trials_with_status(PAUSED)))

    # --- status and state -------------------------------------------------------------------------
    def debug_string(self) -> str:
        lines = [f"Using AsyncHyperBand: num_stopped={self._num_stopped}"]
        sign = -1 if self.mode == "min" else 1
        for rungs in self._rungs:
            parts = []
            for rung in reversed(rungs):
                cutoff = rung.cutoff(self._quantile)
                shown = "None" if cutoff is None else f"{sign * cutoff:.4g}"
                parts.append(f"Iter {rung.milestone:.3f}: {shown}")
            lines.append("Bracket: " + (" | ".join(parts) or "no rungs below max_t"))
        return "\n".join(lines)

    def rungs(self) -> list[list[float]]:
        """The milestones of each bracket, ascending."""
        return [[rung.milestone for rung in rungs] for rungs in self._rungs]

    def save(self) -> Any:
        return {
            "version": 1,
            "rungs": [[dict(rung.recorded) for rung in rungs] for rungs in self._rungs],
            "trials": {k: list(v) for k, v in self._trials.items()},
            "num_stopped": self._num_stopped,
            "rng": self._rng.getstate(),
        }

    def restore(self, state: Any) -> None:
        for rungs, saved in zip(self._rungs, state["rungs"], strict=False):
            for rung, recorded in zip(rungs, saved, strict=False):
                rung.recorded, rung.ordered = {}, []
                for trial_id, reward in recorded.items():
                    rung.record(trial_id, reward)
        last = len(self._rungs) - 1  # A resume given fewer brackets keeps every trial in one.
        self._trials = {k: [min(b, last), rung] for k, (b, rung) in state["trials"].items()}
        self._num_stopped = state["num_stopped"]
        self._rng.setstate(state["rng"])


#: The modern name of the same scheduler.
ASHAScheduler = AsyncHyperBandScheduler
