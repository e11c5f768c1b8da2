"""A search space written as plain data, for YAML and JSON specs, which cannot hold ``hp.*`` or
``tune_core.uniform(...)`` objects.

Each distribution is a one-key dict naming a tune-core function, with its arguments as a list (or
a dict of keyword arguments, or one value): ``{"lr": {"loguniform": [1e-4, 0.1]}, "act": {"choice":
[["relu", "tanh"]]}}``. It becomes the tune-core space it spells, converted like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tune_core import TuneError
from tune_core.search import (
    choice,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    uniform,
)
from tune_core.search.sample import Categorical

__all__ = ["DISTRIBUTIONS", "holds_hyperopt", "space_from_data"]

DISTRIBUTIONS = {
    function.__name__: function
    for function in (uniform, quniform, loguniform, qloguniform, randint, qrandint, lograndint, randn, qrandn, choice)
}


def holds_hyperopt(node: Any) -> bool:
    """Whether ``node`` is or holds a hyperopt expression (``hp.*``), in dicts, lists and tuples."""
    if type(node).__module__.startswith("hyperopt."):
        return True
    if isinstance(node, Mapping):
        return any(holds_hyperopt(value) for value in node.values())
    if isinstance(node, (list, tuple)):
        return any(holds_hyperopt(value) for value in node)
    return False


def space_from_data(node: Any, owner: str, path: str = "space") -> Any:
    """The tune-core space ``node`` spells: one-key dicts naming a distribution become it; other
    dicts are nested keys; anything else is a constant."""
    if not isinstance(node, Mapping):
        return node
    if len(node) == 1:
        ((name, args),) = node.items()
        if name in DISTRIBUTIONS:
            return _distribution(name, args, owner, path)
    return {key: space_from_data(value, owner, f"{path}.{key}") for key, value in node.items()}


def _distribution(name: str, args: Any, owner: str, path: str) -> Any:
    try:
        if isinstance(args, Mapping):
            domain = DISTRIBUTIONS[name](**args)
        else:
            domain = DISTRIBUTIONS[name](*(args if isinstance(args, list) else [args]))
    except TypeError as exc:
        raise TuneError(f"{owner}: `{path}` = {{{name!r}: {args!r}}}: {exc}; write the arguments of "
                        f"tune_core.{name} as a list, e.g. {{'uniform': [0, 1]}}") from None
    if isinstance(domain, Categorical):  # a category may be a distribution written as data too
        return choice([space_from_data(category, owner, f"{path}[{i}]") for i, category in enumerate(domain.categories)])
    return domain
