"""A space written in hyperopt's own terms (``hp.*``, nested dicts), given as ``space=``.

hyperopt evaluates it (``space_eval``: a choice's index becomes its option); this module makes the
values plain Python and maps a known config (``points_to_evaluate``) back onto the labels, which
hyperopt itself only does for flat spaces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tune_core import TuneError
from tune_hyperopt.library import hyperopt_domain, load_hyperopt
from tune_hyperopt.space import format_path

__all__ = ["NativeSpace", "plain"]

Path = tuple[Any, ...]

#: How to check a value against a distribution: its bounds (in log space for the log ones).
_BOUNDED = {"uniform": False, "quniform": False, "loguniform": True, "qloguniform": True}
#: Unary wrappers ``hp.*`` puts around a parameter: the parameter's value passes through them.
_CASTS = ("float", "int")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return value.tolist()  # numpy scalar -> int/float/bool, array -> list
    return value


class _Mismatch(Exception):
    """``(path, why)``: a known value this space cannot give."""


class NativeSpace:
    """A hyperopt space given as a dict of config keys to expressions.

    Attributes:
        expr: the space, for ``hyperopt.Domain``.
        left: always empty (every value comes from hyperopt).
    """

    def __init__(self, space: Mapping[str, Any], owner: str) -> None:
        if not isinstance(space, Mapping):
            raise TuneError(f"{owner}: `space` must be a dict of config keys to hyperopt expressions "
                            f"(hp.uniform(...), ...), got {space!r}")
        self._owner = owner
        self.expr = dict(space)
        self.left: list[str] = []
        hyperopt = load_hyperopt()
        self._apply = hyperopt.pyll.as_apply(self.expr)
        self._labels = sorted(hyperopt_domain(self.expr).params)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def config(self, vals: Mapping[str, Any]) -> dict[str, Any]:
        """The config hyperopt's ``vals`` (label -> value of the active labels) stand for."""
        value = plain(load_hyperopt().space_eval(self.expr, dict(vals)))
        return value

    def encode(self, point: Mapping[str, Any], where: str) -> tuple[dict[str, Any], bool]:
        """hyperopt's values for a known point, and whether it sets every active label. A key not in
        the space or a value it cannot give is a ``TuneError`` starting with ``where``."""
        vals: dict[str, Any] = {}
        try:
            complete = self._encode(self._apply, point, vals, ())
        except _Mismatch as bad:
            path, why = bad.args
            raise TuneError(f"{where}: `{format_path(path)}` {why}") from None
        return vals, complete

    def _encode(self, node: Any, value: Any, vals: dict[str, Any], path: Path) -> bool:
        pyll = load_hyperopt().pyll
        while node.name in _CASTS and len(node.pos_args) == 1:
            node = node.pos_args[0]
        if isinstance(node, pyll.Literal):
            if node.obj != value:
                raise _Mismatch(path, f"= {value!r} differs from the constant {node.obj!r}")
            return True
        if node.name == "dict":
            return self._encode_dict(node, value, vals, path)
        if node.name == "hyperopt_param":
            vals[node.arg["label"].obj] = _checked(node, value, path)
            return True
        if node.name == "switch":
            label = node.pos_args[0].arg["label"].obj
            for index, option in enumerate(node.pos_args[1:]):
                chosen: dict[str, Any] = {}
                try:
                    complete = self._encode(option, value, chosen, path)
                except _Mismatch:
                    continue
                vals[label] = index
                vals.update(chosen)
                return complete
            raise _Mismatch(path, f"= {value!r} is none of the options of hp.choice({label!r}, ...)")
        raise _Mismatch(path, f"= {value!r}: a known value cannot be mapped onto this part of the "
                              f"hyperopt space ({node.name}); give a config of plain hp.* values and dicts")

    def _encode_dict(self, node: Any, value: Any, vals: dict[str, Any], path: Path) -> bool:
        if not isinstance(value, Mapping):
            raise _Mismatch(path, f"= {value!r} must be a dict")
        children = dict(node.named_args)
        for key in value:
            if key not in children:
                keys = ", ".join(map(repr, children))
                raise _Mismatch((*path, key), f"is not in the search space (its keys at this level: {keys})")
        complete = True
        for key, child in children.items():
            if key in value:
                complete = self._encode(child, value[key], vals, (*path, key)) and complete
            elif _has_param(child):
                complete = False
        return complete


def _has_param(node: Any) -> bool:
    pyll = load_hyperopt().pyll
    return any(n.name == "hyperopt_param" for n in pyll.dfs(node))


def _literal(dist: Any, name: str) -> Any:
    """A constant argument of a distribution, or ``None`` (missing, or computed in the graph)."""
    node = dist.arg.get(name)
    return node.obj if getattr(node, "name", None) == "literal" else None  # MissingArgument has no name


def _checked(param: Any, value: Any, path: Path) -> Any:
    """``value`` as hyperopt stores it for this parameter, if its distribution can give it."""
    dist = param.arg["obj"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Mismatch(path, f"= {value!r} must be a number for hp.{dist.name}")
    low, high = _literal(dist, "low"), _literal(dist, "high")
    if dist.name == "randint":
        low, high = (0, low) if high is None else (low, high)
        if low is not None and (int(value) != value or not low <= value < high):
            raise _Mismatch(path, f"= {value!r} is outside hp.randint: the integers in [{low}, {high})")
        return int(value)
    if dist.name in _BOUNDED and low is not None and high is not None:
        slack = (_literal(dist, "q") or 0) / 2 + 1e-9  # rounding to q may cross a bound by q/2
        if _BOUNDED[dist.name]:
            low, high = math.exp(low), math.exp(high)
        if not low - slack <= value <= high + slack:
            raise _Mismatch(path, f"= {value!r} is outside hp.{dist.name}: values in [{low:g}, {high:g}]")
    return float(value)
