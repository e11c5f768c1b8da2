"""What both schedulers share: option checks for the objective, reading a reward and a time out of a
result, the quantile of recorded rewards, and picking a waiting trial whose resources are free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tune_core import TuneError, options

__all__ = ["DEFAULT_REWARD", "Objective", "quantile", "strictly_above"]

#: The seed's default objective when neither ``metric`` nor ``reward_attr`` is given (maximised).
DEFAULT_REWARD = "episode_reward_mean"


def strictly_above(owner: str, name: str, value: Any, bound: float) -> Any:
    """A number ``> bound`` (``options.number`` bounds are inclusive)."""
    try:
        options.number(owner, name, value)
    except TuneError:
        raise TuneError(f"{owner}: `{name}` must be a number > {bound}, got {value!r} "
                        f"({type(value).__name__})") from None
    if value <= bound:
        raise TuneError(f"{owner}: `{name}` must be a number > {bound}, got {value!r}")
    return value


class Objective:
    """``metric``/``mode`` (or the seed's ``reward_attr``) and ``time_attr``, checked where given."""

    metric: str | None
    mode: str | None

    def _check_objective(self, owner: str, *, time_attr: Any, metric: Any, mode: Any,
                         reward_attr: Any) -> None:
        options.text(owner, "time_attr", time_attr)
        options.text(owner, "metric", metric, optional=True)
        options.text(owner, "reward_attr", reward_attr, optional=True)
        options.choice(owner, "mode", mode, (None, "min", "max"))
        if reward_attr is not None and metric is not None:
            raise TuneError(f"{owner}: pass `metric` (with `mode`) or the seed's `reward_attr`, not both "
                            f"(got metric={metric!r}, reward_attr={reward_attr!r})")
        if reward_attr is not None and mode == "min":
            raise TuneError(f"{owner}: `reward_attr` is maximised; to minimise {reward_attr!r} pass "
                            f"metric={reward_attr!r}, mode='min'")
        self.metric = metric if metric is not None else reward_attr
        self.mode = mode if mode is not None else ("max" if reward_attr is not None else None)
        self._time_attr: str = time_attr

    def _reward(self, result: Mapping[str, Any]) -> float:
        """The result's metric, sign-flipped for ``min``: higher is better. Missing, NaN or not a
        number: ``-inf`` (ranks last)."""
        value = result.get(self.metric or DEFAULT_REWARD)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return -math.inf
        return -float(value) if self.mode == "min" else float(value)

    def _time(self, result: Mapping[str, Any] | None) -> float | None:
        """``result[time_attr]`` when it is a number, else ``None``."""
        if result is None:
            return None
        value = result.get(self._time_attr)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return None
        return value


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of a non-empty ascending list, interpolated linearly between the two
    nearest values (numpy's default ``percentile``): the median of [100, 450] is 275."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


