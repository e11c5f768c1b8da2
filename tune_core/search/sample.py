"""Search-space primitives: ``grid_search``, ``sample_from`` and the random distributions.

A config value built here is a *search value*: the variant generator replaces it with a concrete
value for each trial. Distributions draw from a caller-supplied ``random.Random``, so one seed
reproduces a whole experiment. Only ``random`` is used: numpy is never imported here, so
``import tune_core`` stays fast. How search values are recognised in a spec and how conditional ones
(``sample_from``, lambdas, ``{"eval": ...}``) are evaluated lives in ``tune_core.search.resolve``.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from tune_core.errors import TuneError

__all__ = [
    "EVAL_KEY",
    "GRID_KEY",
    "Categorical",
    "Domain",
    "Float",
    "Integer",
    "Normal",
    "SampleFrom",
    "choice",
    "grid_search",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
]

#: The dict forms the seed's JSON/YAML specs use: ``{"grid_search": [...]}``, ``{"eval": "expr"}``.
GRID_KEY = "grid_search"
EVAL_KEY = "eval"


def grid_search(values: Sequence[Any]) -> dict[str, list[Any]]:
    """Try every value in ``values``: ``{"grid_search": [...]}``, the same form a YAML spec uses."""
    if not isinstance(values, (list, tuple)):
        raise TuneError(
            f"grid_search() requires a list of values, got {type(values).__name__} {values!r}"
        )
    if not values:
        raise TuneError("grid_search() requires at least one value, got an empty list")
    return {GRID_KEY: list(values)}


class SampleFrom:
    """A value computed per variant by ``func(spec)``; ``spec`` is the partially resolved spec."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        if not callable(func):
            raise TuneError(f"sample_from() requires a function of the spec, got {func!r}")
        self.func = func

    def __eq__(self, other: object) -> bool:
        return type(other) is SampleFrom and other.func == self.func

    def __hash__(self) -> int:
        return hash(self.func)

    def __repr__(self) -> str:
        return f"sample_from({getattr(self.func, '__qualname__', self.func)!r})"


def sample_from(func: Callable[[Any], Any]) -> SampleFrom:
    """Compute a value from the spec, e.g. ``sample_from(lambda spec: spec.config.lr * 2)``."""
    return SampleFrom(func)


class Domain(ABC):
    """A random distribution over config values; sampled once per variant.

    Plugins translating a search space (HyperOpt, Optuna) read the public ``fields`` of the
    subclasses. Plain classes rather than dataclasses: generating dataclass code costs import time.
    """

    fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def sample(self, rng: random.Random) -> Any:
        """One value drawn with ``rng``."""

    @abstractmethod
    def allows(self, value: Any) -> bool:
        """Whether ``value`` is one this domain could give: checks a config a user or a searcher
        supplies (``points_to_evaluate``) the way a sampled one is constrained."""

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))


def _fail(call: str, problem: str) -> TuneError:
    return TuneError(f"{call}: {problem}")


def _check_real(call: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(call, f"`{name}` must be a finite number, got {value!r}")


def _check_int(call: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(call, f"`{name}` must be an integer, got {value!r}")


def _check_base(call: str, base: float | None, lower: float) -> None:
    if base is None:
        return
    _check_real(call, "base", base)
    if base <= 0 or base == 1:
        raise _fail(call, f"`base` must be > 0 and != 1, got {base!r}")
    if lower <= 0:
        raise _fail(call, f"a log scale needs lower > 0, got lower={lower!r}")


def _multiples(lower: float, upper: float, q: float) -> tuple[int, int]:
    """The range ``[kmin, kmax]`` of k with ``k * q`` in ``[lower, upper]`` (empty if kmin > kmax)."""
    if isinstance(q, int) and isinstance(lower, int) and isinstance(upper, int):
        return -(-lower // q), upper // q
    # A little slack, so that e.g. 0.3 counts as a multiple of 0.1 despite binary rounding.
    return math.ceil(lower / q - 1e-9), math.floor(upper / q + 1e-9)


def _check_q(call: str, q: Any, lower: float, upper: float, integer: bool) -> None:
    (_check_int if integer else _check_real)(call, "q", q)
    if q <= 0:
        raise _fail(call, f"`q` must be > 0, got {q!r}")
    kmin, kmax = _multiples(lower, upper, q)
    if kmin > kmax:
        raise _fail(call, f"no multiple of q={q!r} lies in [{lower!r}, {upper!r}]")


def _bounded_repr(domain: Float | Integer, plain: str, log: str) -> str:
    """``quniform(0, 1, 0.1)``, ``lograndint(1, 100, base=10)``: the call that builds ``domain``."""
    name = ("q" if domain.q is not None else "") + (log if domain.base is not None else plain)
    args = [repr(domain.lower), repr(domain.upper)] + ([repr(domain.q)] if domain.q is not None else [])
    if domain.base is not None:
        args.append(f"base={domain.base!r}")
    return f"{name}({', '.join(args)})"


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _is_multiple(value: float, q: float) -> bool:
    return abs(value / q - round(value / q)) < 1e-6


def _clean_float(value: float) -> float:
    """Drop binary noise from ``k * q`` (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.15g}")


class Float(Domain):
    """Floats in ``[lower, upper]``: uniform, or log-uniform when ``base`` is set.

    With ``q`` the value is rounded to a multiple of ``q`` inside the bounds.
    """

    fields = ("lower", "upper", "q", "base")

    def __init__(self, lower: float, upper: float, q: float | None = None, base: float | None = None) -> None:
        self.lower, self.upper, self.q, self.base = lower, upper, q, base
        call = repr(self)
        _check_real(call, "lower", self.lower)
        _check_real(call, "upper", self.upper)
        if not self.lower < self.upper:
            raise _fail(call, f"lower must be < upper, got lower={self.lower!r}, upper={self.upper!r}")
        _check_base(call, self.base, self.lower)
        if self.q is not None:
            _check_q(call, self.q, self.lower, self.upper, integer=False)

    def sample(self, rng: random.Random) -> float:
        if self.base is None:
            value = rng.uniform(self.lower, self.upper)
        else:
            low, high = math.log(self.lower, self.base), math.log(self.upper, self.base)
            value = self.base ** rng.uniform(low, high)
        if self.q is None:
            return float(min(max(value, self.lower), self.upper))
        kmin, kmax = _multiples(self.lower, self.upper, self.q)
        return _clean_float(min(max(round(value / self.q), kmin), kmax) * self.q)

    def allows(self, value: Any) -> bool:
        if not _is_real(value) or not self.lower <= value <= self.upper:
            return False
        return self.q is None or _is_multiple(value, self.q)

    def __repr__(self) -> str:
        return _bounded_repr(self, "uniform", "loguniform")


class Integer(Domain):
    """Integers from ``lower`` to ``upper``: uniform, or log-uniform when ``base`` is set.

    As in Ray Tune, ``upper`` is exclusive without ``q`` (like ``range``) and inclusive with ``q``
    (the multiples of ``q`` in ``[lower, upper]``).
    """

    fields = ("lower", "upper", "q", "base")

    def __init__(self, lower: int, upper: int, q: int | None = None, base: float | None = None) -> None:
        self.lower, self.upper, self.q, self.base = lower, upper, q, base
        call = repr(self)
        _check_int(call, "lower", self.lower)
        _check_int(call, "upper", self.upper)
        if not self.lower < self.upper:
            raise _fail(call, f"lower must be < upper, got lower={self.lower!r}, upper={self.upper!r}")
        _check_base(call, self.base, self.lower)
        if self.q is not None:
            _check_q(call, self.q, self.lower, self.upper, integer=True)

    def sample(self, rng: random.Random) -> int:
        if self.q is not None:
            kmin, kmax = _multiples(self.lower, self.upper, self.q)
            if self.base is None:
                return rng.randint(kmin, kmax) * self.q
            value = self.base ** rng.uniform(math.log(self.lower, self.base), math.log(self.upper, self.base))
            return int(min(max(round(value / self.q), kmin), kmax)) * self.q
        if self.base is None:
            return rng.randrange(self.lower, self.upper)
        value = self.base ** rng.uniform(math.log(self.lower, self.base), math.log(self.upper, self.base))
        return int(min(max(math.floor(value), self.lower), self.upper - 1))

    def allows(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        if self.q is None:
            return self.lower <= value < self.upper
        return self.lower <= value <= self.upper and value % self.q == 0

    def __repr__(self) -> str:
        return _bounded_repr(self, "randint", "lograndint")


class Normal(Domain):
    """Normally distributed floats; with ``q``, rounded to a multiple of ``q``."""

    fields = ("mean", "sd", "q")

    def __init__(self, mean: float = 0.0, sd: float = 1.0, q: float | None = None) -> None:
        self.mean, self.sd, self.q = mean, sd, q
        call = repr(self)
        _check_real(call, "mean", self.mean)
        _check_real(call, "sd", self.sd)
        if self.sd <= 0:
            raise _fail(call, f"`sd` must be > 0, got {self.sd!r}")
        if self.q is not None:
            _check_real(call, "q", self.q)
            if self.q <= 0:
                raise _fail(call, f"`q` must be > 0, got {self.q!r}")

    def sample(self, rng: random.Random) -> float:
        value = rng.gauss(self.mean, self.sd)
        return value if self.q is None else _clean_float(round(value / self.q) * self.q)

    def allows(self, value: Any) -> bool:
        return _is_real(value) and (self.q is None or _is_multiple(value, self.q))

    def __repr__(self) -> str:
        if self.q is None:
            return f"randn({self.mean!r}, {self.sd!r})"
        return f"qrandn({self.mean!r}, {self.sd!r}, {self.q!r})"


class Categorical(Domain):
    """One of ``categories``, each equally likely. A category may itself be a search value."""

    fields = ("categories",)

    def __init__(self, categories: Sequence[Any]) -> None:
        if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence):
            raise TuneError(f"choice() requires a list of categories, got {categories!r}")
        if not categories:
            raise TuneError("choice() requires at least one category, got an empty list")
        self.categories = tuple(categories)

    def sample(self, rng: random.Random) -> Any:
        return self.categories[rng.randrange(len(self.categories))]

    def allows(self, value: Any) -> bool:
        """One of the categories, or a value a category that is itself a domain (or a dict holding
        domains, key by key) allows."""
        return any(_category_allows(category, value) for category in self.categories)

    def __repr__(self) -> str:
        return f"choice({list(self.categories)!r})"


def _category_allows(category: Any, value: Any) -> bool:
    if isinstance(category, Domain):
        return category.allows(value)
    if isinstance(category, dict) and isinstance(value, dict) and category.keys() == value.keys():
        return all(_category_allows(category[key], value[key]) for key in category)
    return category == value and isinstance(category, bool) == isinstance(value, bool)


def uniform(lower: float, upper: float) -> Float:
    """A float uniformly in ``[lower, upper]``."""
    return Float(lower, upper)


def quniform(lower: float, upper: float, q: float) -> Float:
    """A float uniformly in ``[lower, upper]``, rounded to a multiple of ``q``."""
    return Float(lower, upper, q=q)


def loguniform(lower: float, upper: float, base: float = 10) -> Float:
    """A float in ``[lower, upper]`` (``lower > 0``), uniform in its logarithm."""
    return Float(lower, upper, base=base)


def qloguniform(lower: float, upper: float, q: float, base: float = 10) -> Float:
    """``loguniform`` rounded to a multiple of ``q``."""
    return Float(lower, upper, q=q, base=base)


def randint(lower: int, upper: int) -> Integer:
    """An integer in ``[lower, upper)``: upper is exclusive, like ``range``."""
    return Integer(lower, upper)


def qrandint(lower: int, upper: int, q: int = 1) -> Integer:
    """A multiple of ``q`` in ``[lower, upper]``: upper is *inclusive*, as in Ray Tune."""
    return Integer(lower, upper, q=q)


def lograndint(lower: int, upper: int, base: float = 10) -> Integer:
    """An integer in ``[lower, upper)`` (``lower >= 1``), uniform in its logarithm."""
    return Integer(lower, upper, base=base)


def choice(categories: Sequence[Any]) -> Categorical:
    """One of ``categories``, uniformly."""
    return Categorical(categories)


def randn(mean: float = 0.0, sd: float = 1.0) -> Normal:
    """A normally distributed float."""
    return Normal(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> Normal:
    """A normally distributed float rounded to a multiple of ``q``."""
    return Normal(mean, sd, q)
