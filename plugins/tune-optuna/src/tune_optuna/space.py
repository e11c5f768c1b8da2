"""Search spaces in Optuna's terms: each searched key becomes a ``Param``, an Optuna distribution
with the path its value takes in the config and the coding between the two.

Two sources: tune-core's own distributions in the experiment config (``from_config``), or a dict of
Optuna distributions given as ``space=`` (``from_distributions``; each may also be written in
Optuna's JSON form, so a YAML spec can hold it). Optuna names a parameter by a flat string: a nested
key is joined with ``/`` (``opt/lr``), and a ``/`` in a name Optuna reports nests it again.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tune_core import TuneError
from tune_core.search import CONDITIONAL, GRID, SAMPLE, search_kind
from tune_core.search.sample import (
    Categorical,
    Domain,
    Float,
    Integer,
    Normal,
)
from tune_optuna.samplers import require_optuna

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["SEP", "Param", "Path", "from_config", "from_distributions", "nest", "split_point", "where"]

SEP = "/"
Path = tuple[Any, ...]
_PLAIN = (type(None), bool, int, float, str)  # what Optuna accepts as a category


def where(path: Path) -> str:
    """``config.opt.lr`` / ``config.layers[0]``: a path as the messages show it."""
    text = "config"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _clean(value: float) -> float:
    """Drop binary noise from ``k * q`` (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.15g}")


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same kind: ``True`` is not the category ``1``."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


@dataclass(frozen=True)
class Param:
    """One Optuna parameter.

    Attributes:
        name: Optuna's name for it (the path joined with ``/``).
        path: where its value goes in the config.
        distribution: what Optuna samples.
        categories: for a choice Optuna cannot hold (objects, or categories equal to each other like
            ``1`` and ``True``), the categories; Optuna then samples their index.
        q: the value is rounded to a multiple ``k * q`` with ``kmin <= k <= kmax`` (a quantised
            log scale, which Optuna cannot sample on a grid).
        integer: the config gets an ``int``.
    """

    name: str
    path: Path
    distribution: BaseDistribution
    categories: tuple[Any, ...] | None = None
    q: float | None = None
    kmin: int = 0
    kmax: int = 0
    integer: bool = False

    def decode(self, value: Any) -> Any:
        """Optuna's value -> the config's (plain Python: ``int`` for integer domains)."""
        if self.categories is not None:
            return copy.deepcopy(self.categories[int(value)])
        if self.q is not None:
            k = min(max(round(value / self.q), self.kmin), self.kmax)
            return int(k * self.q) if self.integer else _clean(k * self.q)
        if self.integer:
            return int(value)
        if type(self.distribution).__name__ == "FloatDistribution":
            return float(value)
        return value

    def encode(self, value: Any) -> Any:
        """A config value (from ``points_to_evaluate``) -> Optuna's, for ``enqueue_trial``."""
        if self.categories is not None:
            return next(i for i, category in enumerate(self.categories) if _same(category, value))
        if type(self.distribution).__name__ == "FloatDistribution":
            return float(value)
        return value

    def allows(self, value: Any) -> bool:
        """Whether ``value`` lies in this parameter's Optuna distribution (for a dict space)."""
        optuna = require_optuna()
        dist = self.distribution
        real = not isinstance(value, bool) and isinstance(value, (int, float))
        if isinstance(dist, optuna.distributions.FloatDistribution):
            if not real or not dist.low <= value <= dist.high:
                return False
            steps = None if dist.step is None else (value - dist.low) / dist.step
            return steps is None or abs(steps - round(steps)) < 1e-6
        if isinstance(dist, optuna.distributions.IntDistribution):
            return (isinstance(value, int) and not isinstance(value, bool) and dist.low <= value <= dist.high
                    and (value - dist.low) % dist.step == 0)
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            return any(_same(choice, value) for choice in dist.choices)
        return True


def _search_kind(value: Any) -> str | None:
    """``domain``, ``grid``, ``conditional`` (left to tune-core to resolve) or ``None`` (a constant)."""
    return {SAMPLE: "domain", GRID: "grid", CONDITIONAL: "conditional"}.get(search_kind(value) or "")


def _holds_search(value: Any) -> bool:
    if _search_kind(value) is not None:
        return True
    if isinstance(value, dict):
        return any(_holds_search(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_search(v) for v in value)
    return False


def from_config(owner: str, config: Mapping[str, Any]) -> list[Param]:
    """A ``Param`` per tune-core distribution in ``config`` (at any depth of nested dicts).

    Constants stay and conditional values (``sample_from``, lambdas, ``{"eval": ...}``) are left to
    tune-core, which resolves them over the suggested config.

    Raises:
        TuneError: a ``grid_search``, a ``randn``, a search value inside a list or a ``choice``.
    """
    params: list[Param] = []
    _walk(owner, config, (), params)
    _check_names(owner, params)
    return params


def _walk(owner: str, node: Mapping[Any, Any], path: Path, params: list[Param]) -> None:
    for key, value in node.items():
        here = (*path, key)
        kind = _search_kind(value)
        if kind == "domain":
            params.append(_convert(owner, here, value))
        elif kind == "grid":
            raise TuneError(f"{owner}: `{where(here)}` is a grid_search; a searcher cannot enumerate a grid: "
                            "write it as choice([...]) for Optuna to pick from, or run the grid with the "
                            "default searcher (basic)")
        elif kind is None and isinstance(value, dict):
            _walk(owner, value, here, params)
        elif kind is None and isinstance(value, (list, tuple)) and _holds_search(value):
            raise TuneError(f"{owner}: `{where(here)}` holds search values inside a list; Optuna suggests "
                            "dict keys only: write the list as a dict ({'0': ..., '1': ...})")


def _convert(owner: str, path: Path, domain: Domain) -> Param:
    """The Optuna form of one tune-core distribution."""
    optuna = require_optuna()
    dists = optuna.distributions
    name = SEP.join(map(str, path))
    if isinstance(domain, (Float, Integer)):
        lower, upper, q, base = domain.lower, domain.upper, domain.q, domain.base
        integer = isinstance(domain, Integer)
        if q is None:
            if integer:  # randint / lograndint: upper is exclusive
                return Param(name, path, dists.IntDistribution(lower, upper - 1, log=base is not None), integer=True)
            return Param(name, path, dists.FloatDistribution(lower, upper, log=base is not None))
        # Multiples of q in [lower, upper]: k * q for kmin <= k <= kmax (Optuna's grid starts at low
        # instead, so low and high are moved onto the multiples).
        kmin, kmax = (int(-(-lower // q)), int(upper // q)) if integer else (
            math.ceil(lower / q - 1e-9), math.floor(upper / q + 1e-9))
        if base is not None:  # Optuna has no step on a log scale: sample log-uniformly, then round
            return Param(name, path, dists.FloatDistribution(lower, upper, log=True),
                         q=q, kmin=kmin, kmax=kmax, integer=integer)
        if integer:
            return Param(name, path, dists.IntDistribution(kmin * q, kmax * q, step=q), integer=True)
        low, high = _clean(kmin * q), _clean(kmax * q)
        with warnings.catch_warnings(record=True) as moved:
            warnings.simplefilter("always")
            dist = dists.FloatDistribution(low, high, step=q)
        if moved:  # Optuna found (high - low) no multiple of q (binary noise, q = 1/3): it would drop
            dist = dists.FloatDistribution(low, high)  # values; sample continuously, then round
        return Param(name, path, dist, q=q, kmin=kmin, kmax=kmax)
    if isinstance(domain, Categorical):
        categories = domain.categories
        for category in categories:
            if _holds_search(category):
                raise TuneError(f"{owner}: `{where(path)}` = {domain!r} has a search value among its categories; "
                                "Optuna cannot sample inside a category: give each its own key")
        if all(type(c) in _PLAIN for c in categories) and len(set(categories)) == len(categories):
            return Param(name, path, dists.CategoricalDistribution(categories))
        return Param(name, path, dists.CategoricalDistribution(tuple(range(len(categories)))),
                     categories=categories)
    if isinstance(domain, Normal):
        raise TuneError(f"{owner}: `{where(path)}` = {domain!r}: Optuna has no normal distribution; "
                        "give a range instead (uniform(...)), or use a define-by-run space")
    raise TuneError(f"{owner}: `{where(path)}` = {domain!r}: no Optuna distribution for {type(domain).__name__}")


def _check_names(owner: str, params: list[Param]) -> None:
    seen: dict[str, Path] = {}
    for param in params:
        if param.name in seen:
            raise TuneError(f"{owner}: `{where(seen[param.name])}` and `{where(param.path)}` both get the Optuna "
                            f"name {param.name!r} (nested keys are joined with {SEP!r}); rename one")
        seen[param.name] = param.path


def _is_json_distribution(value: Mapping[str, Any]) -> bool:
    """``{"name": "FloatDistribution", "attributes": {...}}`` or ``{"type": "float", "low": ...}``."""
    if isinstance(value.get("name"), str) and isinstance(value.get("attributes"), Mapping):
        return True
    return value.get("type") in ("float", "int", "categorical")


def from_distributions(owner: str, space: Mapping[str, Any]) -> list[Param]:
    """A ``Param`` per Optuna distribution in ``space`` ({name: distribution}, nested dicts allowed)."""
    optuna = require_optuna()
    params: list[Param] = []

    def walk(node: Mapping[Any, Any], path: tuple[str, ...]) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or not key:
                raise TuneError(f"{owner}: the keys of `space` must be parameter names (strings), got {key!r}")
            here = (*path, key)
            name = SEP.join(here)
            if isinstance(value, Mapping) and _is_json_distribution(value):
                try:
                    value = optuna.distributions.json_to_distribution(json.dumps(dict(value)))
                except Exception as exc:
                    raise TuneError(f"{owner}: space[{name!r}] = {dict(value)!r} is not an Optuna distribution "
                                    f"in JSON form: {type(exc).__name__}: {exc}") from None
            if isinstance(value, optuna.distributions.BaseDistribution):
                params.append(Param(name, tuple(name.split(SEP)), value,
                                    integer=isinstance(value, optuna.distributions.IntDistribution)))
            elif isinstance(value, Mapping) and value:
                walk(value, here)
            else:
                raise TuneError(f"{owner}: space[{name!r}] must be an optuna distribution "
                                f"(optuna.distributions.FloatDistribution(0, 1), ...), got {value!r}")

    walk(space, ())
    _check_names(owner, params)
    return params


def nest(pairs: Iterable[tuple[Path, Any]]) -> dict[str, Any]:
    """``[(("opt", "lr"), 0.1), (("n",), 3)]`` -> ``{"opt": {"lr": 0.1}, "n": 3}``."""
    config: dict[Any, Any] = {}
    for path, value in pairs:
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise TuneError(f"`{where(path)}` is nested under a key that already holds a value")
        node[path[-1]] = value
    return config


def split_point(point: Mapping[Any, Any],
                by_path: Mapping[Path, Param]) -> tuple[dict[str, Any], list[tuple[Path, Any]]]:
    """A config ``point`` as Optuna parameters ``{name: value}``, plus its values for keys Optuna does
    not search (constants, conditional values: the point's value wins), by path."""
    prefixes = {param.path[:i] for param in by_path.values() for i in range(1, len(param.path))}
    found: dict[str, Any] = {}
    extras: list[tuple[Path, Any]] = []

    def walk(node: Mapping[Any, Any], path: Path) -> None:
        for key, value in node.items():
            here = (*path, key)
            if here in by_path:
                found[by_path[here].name] = by_path[here].encode(value)
            elif here in prefixes and isinstance(value, Mapping):
                walk(value, here)
            else:
                extras.append((here, value))

    walk(point, ())
    return found, extras
