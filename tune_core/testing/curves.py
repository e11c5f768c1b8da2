"""Synthetic learning curves for the simulator, and the seeded randomness it draws from.

A curve is ``curve(config, iteration) -> metrics`` (or ``curve(config, iteration, last)``, where
``last`` is the metrics of the iteration before, restored from a checkpoint too, for curves that
build on their own past: a PBT exploit then inherits the other trial's progress). Noise and failures
come from a hash of ``(seed, trial, attempt, iteration)``, not from a generator consumed in event
order: the same trial draws the same numbers whatever the scheduler does to the others, and no
trial holds a generator of its own (10,000 of them would cost 50 MB).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["DEFAULT_SPACE", "Curve", "default_curve", "normalize_curve", "unit"]

Curve = Callable[..., Mapping[str, Any]]
#: ``curve(config, iteration, last)``: what the simulator calls, whatever form the user gave.
_Curve3 = Callable[[Mapping[str, Any], int, "Mapping[str, Any] | None"], Mapping[str, Any]]

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit(*keys: int) -> float:
    """A uniform number in ``[0, 1)`` determined by ``keys`` alone."""
    h = 0
    for key in keys:
        h = _mix(h ^ (key & _MASK))
    return (h >> 11) * (1.0 / (1 << 53))


def gauss(*keys: int) -> float:
    """A standard normal number determined by ``keys`` (Box-Muller on two hashed uniforms)."""
    u1 = unit(*keys, 1) or 1e-300
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * unit(*keys, 2))


def default_curve(config: Mapping[str, Any], iteration: int) -> dict[str, float]:
    """``score`` rises towards ``quality`` at ``rate`` per iteration; ``loss`` is ``1 - score``.

    Good trials may start slowly (low ``rate``) and poor ones quickly, so the curves cross: what an
    early-stopping scheduler has to get right.
    """
    score = config["quality"] * (1.0 - math.exp(-config["rate"] * iteration))
    return {"score": score, "loss": 1.0 - score}


def _space() -> dict[str, Any]:
    from tune_core.search.sample import uniform

    return {"quality": uniform(0.0, 1.0), "rate": uniform(0.02, 0.5), "cost": uniform(0.5, 1.5)}


#: What ``simulate`` samples when given no ``config``: ``quality`` and ``rate`` for
#: ``default_curve``, ``cost`` the virtual seconds per iteration.
DEFAULT_SPACE: Mapping[str, Any] = _space()


def normalize_curve(curve: Curve) -> _Curve3:
    """``curve`` as a three-argument function, whichever of the two forms it has."""
    try:
        params = inspect.signature(curve).parameters.values()
    except (TypeError, ValueError):
        return curve  # Unknown: call it with three.
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_more = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(positional) >= 3 or takes_more:
        return curve
    return lambda config, iteration, last: curve(config, iteration)
