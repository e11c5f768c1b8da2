"""tune-core search spaces as hyperopt spaces, and hyperopt's values back as configs.

``TuneSpace(config)`` converts every distribution in the config's nested dicts (and in the
categories of a ``choice``) into the hyperopt expression a user would write by hand, labelled with
its path (``lr``, ``opt.momentum``, ``act[1].slope``), so the same seed draws the same values as
hyperopt's own ``fmin`` on that hand-written space. Values come back through tune-core's rules
(``randint`` upper exclusive, ``qrandint`` upper inclusive, ``q`` multiples inside the bounds),
as plain Python numbers. Search values hyperopt cannot express (``sample_from``, lambdas, ones
inside lists) are left alone: ``SearchGenerator`` resolves what a searcher does not suggest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tune_core import TuneError
from tune_core.search import CONDITIONAL, search_kind
from tune_core.search.sample import (
    GRID_KEY,
    Categorical,
    Domain,
    Float,
    Integer,
    Normal,
)
from tune_hyperopt.library import load_hyperopt

__all__ = ["TuneSpace", "find_grid", "format_path", "is_conditional"]

Path = tuple[Any, ...]


def format_path(path: Path) -> str:
    """``opt.layers[0]``: a config path as messages show it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def is_conditional(value: Any) -> bool:
    """``sample_from``, a one-argument function or ``{"eval": ...}``: values only the generator can resolve."""
    return search_kind(value) == CONDITIONAL


def find_grid(node: Any, path: Path = ()) -> Path | None:
    """The path of the first ``grid_search`` in ``node`` (in dicts, lists and choices), if any."""
    if isinstance(node, dict):
        if len(node) == 1 and GRID_KEY in node:
            return path
        items: Any = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    elif isinstance(node, Categorical):
        items = enumerate(node.categories)
    else:
        return None
    for key, value in items:
        found = find_grid(value, (*path, key))
        if found is not None:
            return found
    return None


def _holds_search(node: Any) -> bool:
    """Whether ``node`` is or holds any search value (a reason to keep it whole)."""
    if isinstance(node, Domain) or is_conditional(node):
        return True
    if isinstance(node, dict):
        return any(_holds_search(value) for value in node.values())
    if isinstance(node, (list, tuple)):
        return any(_holds_search(value) for value in node)
    return False


class _Unconvertible(Exception):
    """A choice holds a value hyperopt cannot express; the whole choice is left to the generator."""


class _Mismatch(Exception):
    """A known value the space cannot give: ``(path, value, what the space has there)``."""


@dataclass
class _Const:
    value: Any


@dataclass
class _Param:
    label: str
    domain: Float | Integer | Normal


@dataclass
class _Choice:
    label: str
    domain: Categorical
    options: list[_Node]


@dataclass
class _Dict:
    children: dict[Any, _Node] = field(default_factory=dict)
    whole: bool = False  # a category of a choice: its constants are children too


_Node = _Const | _Param | _Choice | _Dict


def _multiples(domain: Float | Integer) -> tuple[int, int]:
    """The ``k`` with ``k * q`` inside the bounds (tune-core's rule, with its slack for rounding)."""
    lower, upper, q = domain.lower, domain.upper, domain.q
    assert q is not None
    if isinstance(q, int) and isinstance(lower, int) and isinstance(upper, int):
        return -(-lower // q), upper // q
    return math.ceil(lower / q - 1e-9), math.floor(upper / q + 1e-9)


def _clean(value: float) -> float:
    """Drop binary noise from ``k * q`` (0.30000000000000004 -> 0.3), as tune-core does."""
    return float(f"{value:.15g}")


def _expression(label: str, domain: Float | Integer | Normal) -> Any:
    """The hyperopt expression for one distribution (see the table in the README)."""
    hp = load_hyperopt().hp
    if isinstance(domain, Normal):
        if domain.q is None:
            return hp.normal(label, domain.mean, domain.sd)
        return hp.qnormal(label, domain.mean, domain.sd, domain.q)
    lower, upper, q = domain.lower, domain.upper, domain.q
    if domain.base is not None:  # log-uniform in any base is one distribution: hyperopt's, in e
        low, high = math.log(lower), math.log(upper)
        return hp.loguniform(label, low, high) if q is None else hp.qloguniform(label, low, high, q)
    if isinstance(domain, Integer):
        if q is None:
            return hp.randint(label, lower, upper)  # [lower, upper), as tune-core's randint
        kmin, kmax = _multiples(domain)  # half a step beyond each end: every multiple equally likely
        return hp.quniform(label, kmin * q - q / 2, kmax * q + q / 2, q)
    return hp.uniform(label, lower, upper) if q is None else hp.quniform(label, lower, upper, q)


def _finish(domain: Float | Integer | Normal, raw: Any) -> Any:
    """hyperopt's value for ``domain`` as tune-core would have sampled it: a plain int or float."""
    if isinstance(domain, Normal):
        return float(raw) if domain.q is None else _clean(round(float(raw) / domain.q) * domain.q)
    if domain.q is not None:
        kmin, kmax = _multiples(domain)
        k = min(max(round(float(raw) / domain.q), kmin), kmax)
        return int(k * domain.q) if isinstance(domain, Integer) else _clean(k * domain.q)
    if isinstance(domain, Integer):
        value = math.floor(float(raw)) if domain.base is not None else int(raw)
        return int(min(max(value, domain.lower), domain.upper - 1))
    return float(min(max(float(raw), domain.lower), domain.upper))


def _raw(domain: Float | Integer | Normal, value: Any) -> Any:
    """A known value of ``domain`` as hyperopt stores it (its own draws look the same)."""
    if isinstance(domain, Integer) and domain.q is None and domain.base is None:
        return int(value)
    return float(value)


class TuneSpace:
    """The distributions of a tune-core config, converted for hyperopt.

    Attributes:
        expr: the hyperopt space (nested dicts of ``hp.*`` expressions), for ``hyperopt.Domain``.
        left: paths of search values left to ``SearchGenerator`` (hyperopt cannot express them).

    Raises:
        TuneError: the config holds a ``grid_search``, or two paths would share a label.
    """

    def __init__(self, config: Mapping[str, Any], owner: str) -> None:
        grid = find_grid(dict(config))
        if grid is not None:
            raise TuneError(
                f"{owner}: `{format_path(grid)}` is a grid_search; a searcher cannot enumerate a grid: "
                "use BasicVariantGenerator (search_alg='basic') for grids, or give the values as "
                "choice([...]) to search them"
            )
        self._owner = owner
        self._labels: set[str] = set()
        self.left: list[str] = []
        self._root = self._top(config, ())
        self.expr = self._expr(self._root)

    @property
    def labels(self) -> list[str]:
        return sorted(self._labels)

    def _label(self, path: Path) -> str:
        label = format_path(path)
        if label in self._labels:
            raise TuneError(f"{self._owner}: two search values of the config are both labelled {label!r}; "
                            "rename a key")
        self._labels.add(label)
        return label

    def _top(self, node: Mapping[Any, Any], path: Path) -> _Dict:
        """The converted distributions of a plain dict of the config (constants stay out)."""
        out = _Dict()
        for key, value in node.items():
            here = (*path, key)
            if isinstance(value, Domain):
                try:
                    out.children[key] = self._domain(value, here)
                except _Unconvertible:
                    self.left.append(format_path(here))
            elif isinstance(value, dict) and not is_conditional(value):
                child = self._top(value, here)
                if child.children:
                    out.children[key] = child
            elif isinstance(value, (list, tuple)) and _holds_search(value):
                self.left.append(format_path(here))
        return out

    def _domain(self, domain: Domain, path: Path) -> _Node:
        if isinstance(domain, Categorical):
            options = [self._category(category, (*path, index)) for index, category in enumerate(domain.categories)]
            return _Choice(self._label(path), domain, options)
        if isinstance(domain, (Float, Integer, Normal)):
            return _Param(self._label(path), domain)
        raise _Unconvertible(path)  # a Domain subclass this plugin does not know

    def _category(self, value: Any, path: Path) -> _Node:
        """One category of a choice: kept whole when constant, converted when it holds distributions."""
        if isinstance(value, Domain):
            return self._domain(value, path)
        if is_conditional(value) or (isinstance(value, (list, tuple)) and _holds_search(value)):
            raise _Unconvertible(path)
        if isinstance(value, dict) and _holds_search(value):
            return _Dict({key: self._category(item, (*path, key)) for key, item in value.items()}, whole=True)
        return _Const(value)

    def _expr(self, node: _Node, index: int = 0) -> Any:
        if isinstance(node, _Param):
            return _expression(node.label, node.domain)
        if isinstance(node, _Choice):
            hp = load_hyperopt().hp
            return hp.choice(node.label, [self._expr(option, i) for i, option in enumerate(node.options)])
        if isinstance(node, _Dict):
            inner = {key: self._expr(child) for key, child in node.children.items()
                     if not isinstance(child, _Const)}
            # hyperopt sorts dict keys, which fails on mixed key types: those become a list.
            return inner if all(isinstance(key, str) for key in inner) else list(inner.values())
        return index  # a constant category: hyperopt only needs its index

    def config(self, vals: Mapping[str, Any]) -> dict[str, Any]:
        """The suggested config for hyperopt's ``vals`` (label -> value of the active labels)."""
        return self._value(self._root, vals)

    def _value(self, node: _Node, vals: Mapping[str, Any]) -> Any:
        if isinstance(node, _Param):
            return _finish(node.domain, vals[node.label])
        if isinstance(node, _Choice):
            return self._value(node.options[int(vals[node.label])], vals)
        if isinstance(node, _Dict):
            return {key: self._value(child, vals) for key, child in node.children.items()}
        return node.value

    def encode(self, point: Mapping[str, Any], where: str) -> tuple[dict[str, Any], bool]:
        """hyperopt's values (label -> value) for a known point, and whether it sets every active
        label. A value the space cannot give is a ``TuneError`` starting with ``where``."""
        vals: dict[str, Any] = {}
        try:
            complete = self._encode(self._root, point, vals, ())
        except _Mismatch as bad:
            path, value, node = bad.args
            raise TuneError(f"{where}: `{format_path(path)}` = {value!r} is outside its domain {node!r}") from None
        return vals, complete

    def _encode(self, node: _Node, value: Any, vals: dict[str, Any], path: Path) -> bool:
        if isinstance(node, _Param):
            if not node.domain.allows(value):
                raise _Mismatch(path, value, node.domain)
            vals[node.label] = _raw(node.domain, value)
            return True
        if isinstance(node, _Const):
            if not (node.value == value and isinstance(node.value, bool) == isinstance(value, bool)):
                raise _Mismatch(path, value, node.value)
            return True
        if isinstance(node, _Choice):
            for index, option in enumerate(node.options):
                chosen: dict[str, Any] = {}
                try:
                    complete = self._encode(option, value, chosen, path)
                except _Mismatch:
                    continue
                vals[node.label] = index
                vals.update(chosen)
                return complete
            raise _Mismatch(path, value, node.domain)
        if not isinstance(value, Mapping) or (node.whole and not set(value) <= set(node.children)):
            raise _Mismatch(path, value, "a dict with keys " + ", ".join(map(repr, node.children)))
        complete = True
        for key, child in node.children.items():
            if key in value:
                complete = self._encode(child, value[key], vals, (*path, key)) and complete
            else:
                complete = False
        return complete
