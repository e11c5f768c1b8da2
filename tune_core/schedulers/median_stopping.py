"""Median stopping rule: stop a trial whose best result is below the median of completed trials.

Of Google Vizier's early stopping (Golovin et al., 2017): at time ``t`` a trial stops when its best
reward so far is worse than the median, over completed trials, of their running mean reward up to
``t``, once ``t`` is past the grace period.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

from tune_core import options
from tune_core.errors import TuneError
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    STOP,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_core.schedulers.fifo import FIFOScheduler

__all__ = ["MedianStoppingRule"]

#: How many times' sorted means of the completed trials are kept (see ``_means_at``).
_CACHED_TIMES = 64


class _History:
    """(time, reward) pairs of one trial with prefix sums, for running means up to any time."""

    __slots__ = ("best", "sums", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.sums: list[float] = []
        self.best = -math.inf

    def add(self, t: float, reward: float) -> None:
        self.times.append(t)
        self.sums.append((self.sums[-1] if self.sums else 0.0) + reward)
        self.best = max(self.best, reward)

    def mean_until(self, t: float) -> float | None:
        count = bisect.bisect_right(self.times, t)
        return self.sums[count - 1] / count if count else None


class MedianStoppingRule(TrialScheduler):
    """Stops (or pauses, with ``hard_stop=False``) trials that fall below the median.

    Args:
        time_attr: result field used as time; must increase from one result to the next.
        reward_attr: seed-style name of the field to maximise; use ``metric``/``mode`` instead to
            minimise.
        grace_period: no trial is stopped at ``time_attr`` <= this.
        min_samples_required: completed trials needed before any stopping.
        hard_stop: stop the trial; when False it is paused and may run again later.
    """

    def __init__(
        self,
        time_attr: str = "time_total_s",
        reward_attr: str | None = None,
        metric: str | None = None,
        mode: str | None = None,
        grace_period: float = 60.0,
        min_samples_required: int = 3,
        hard_stop: bool = True,
        verbose: bool = True,
    ):
        owner = "MedianStoppingRule"
        options.choice(owner, "mode", mode, (None, "min", "max"))
        options.text(owner, "time_attr", time_attr)
        options.text(owner, "reward_attr", reward_attr, optional=True)
        options.text(owner, "metric", metric, optional=True)
        options.number(owner, "grace_period", grace_period, minimum=0)
        options.integer(owner, "min_samples_required", min_samples_required, minimum=1)
        options.flag(owner, "hard_stop", hard_stop)
        options.flag(owner, "verbose", verbose)
        if reward_attr is not None and metric is not None:
            raise TuneError(f"{owner}: pass `metric` (with `mode`) or `reward_attr`, not both")
        self.metric = metric or reward_attr
        self.mode = mode or ("max" if reward_attr else None)
        self._time_attr = time_attr
        self._grace_period = grace_period
        self._min_samples = min_samples_required
        self._hard_stop = hard_stop
        self._verbose = verbose
        self._histories: dict[str, _History] = {}
        self._completed: set[str] = set()
        self._stopped: set[str] = set()
        self._fifo = FIFOScheduler()
        #: time -> the completed trials' running means up to it, sorted. Trials decide at the same
        #: times (iterations) over and over; without this each decision would cost a pass over
        #: every completed trial. A trial that completes is added to each list.
        self._sorted_means: dict[float, list[float]] = {}

    def _reward(self, result: Mapping[str, Any]) -> float | None:
        metric = self.metric or "episode_reward_mean"
        value = result.get(metric)
        if value is None:
            return None
        if type(value) not in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TuneError(f"MedianStoppingRule: the metric {metric!r} must be a number, but a result of "
                            f"trial {result.get('trial_id')} has {value!r} ({type(value).__name__})")
        return -value if self.mode == "min" else value

    def _record(self, trial: TrialView, result: Mapping[str, Any]) -> _History:
        history = self._histories.setdefault(trial.trial_id, _History())
        reward = self._reward(result)
        t = result.get(self._time_attr)
        if reward is not None and t is not None:
            history.add(t, reward)
        return history

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if trial.trial_id in self._stopped:
            return STOP if self._hard_stop else PAUSE
        history = self._record(trial, result)
        t = result.get(self._time_attr)
        if t is None or t <= self._grace_period or not history.times:
            return CONTINUE
        median = self._median_until(t)
        if median is not None and history.best < median:
            self._stopped.add(trial.trial_id)
            return STOP if self._hard_stop else PAUSE
        return CONTINUE

    def _median_until(self, t: float) -> float | None:
        if len(self._completed) < self._min_samples:
            return None
        means = self._means_at(t)
        n = len(means)
        if not n:
            return None
        return means[n // 2] if n % 2 else (means[n // 2 - 1] + means[n // 2]) / 2

    def _means_at(self, t: float) -> list[float]:
        """The running means up to ``t`` of the completed trials that have one, sorted."""
        means = self._sorted_means.get(t)
        if means is None:
            means = sorted(m for tid in self._completed if (m := self._histories[tid].mean_until(t)) is not None)
            if len(self._sorted_means) >= _CACHED_TIMES:
                del self._sorted_means[next(iter(self._sorted_means))]  # The oldest.
            self._sorted_means[t] = means
        return means

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView, result: Mapping[str, Any] | None) -> None:
        if result is not None:
            history = self._histories.get(trial.trial_id)
            t = result.get(self._time_attr)
            if history is None or not history.times or t is None or history.times[-1] != t:
                self._record(trial, result)
        history = self._histories.setdefault(trial.trial_id, _History())
        if trial.trial_id not in self._completed:
            self._completed.add(trial.trial_id)
            for t, means in self._sorted_means.items():
                mean = history.mean_until(t)
                if mean is not None:
                    bisect.insort(means, mean)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        if trial.trial_id not in self._completed:
            self._histories.pop(trial.trial_id, None)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self.on_trial_remove(runner, trial)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        return self._fifo.choose_trial_to_run(runner)

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        # Each result past the grace period may stop the trial, so each one waits for the decision.
        return DecisionPoint(self._time_attr, self._grace_period)

    def debug_string(self) -> str:
        return f"Using MedianStoppingRule: num_stopped={len(self._stopped)}."

    def save(self) -> Any:
        return {
            "histories": {k: (h.times, h.sums, h.best) for k, h in self._histories.items()},
            "completed": sorted(self._completed),
            "stopped": sorted(self._stopped),
        }

    def restore(self, state: Any) -> None:
        for key, (times, sums, best) in state["histories"].items():
            history = _History()
            history.times, history.sums, history.best = list(times), list(sums), best
            self._histories[key] = history
        self._completed = set(state["completed"])
        self._stopped = set(state["stopped"])
        self._sorted_means = {}
