"""``validate_points``: known configs (``points_to_evaluate``) checked against the search space.

A searcher tries these first, so a typo in a key or a value outside its range must fail before
the run starts, naming the point and the key, exactly as a bad search space does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tune_core.errors import TuneError, closest
from tune_core.search.resolve import GRID, format_path, search_kind
from tune_core.search.sample import Domain

__all__ = ["validate_points"]


def validate_points(owner: str, points: Any, space: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``points`` as a list of dicts, each key a key of ``space`` (nested dicts for nested keys)
    and each value one its domain allows; otherwise a ``TuneError`` naming ``owner``, the point's
    index and the key.

    A point may leave keys out (the searcher or the generator fills them). Where the space holds a
    grid, it takes a value of the grid; a constant or a conditional value (``sample_from``, a
    lambda) takes anything (the point's value wins).

    Example:
        >>> validate_points("MySearch", [{"lr": 0.1}], {"lr": uniform(0, 1)})  # doctest: +SKIP
        [{'lr': 0.1}]
    """
    if points is None:
        return []
    if isinstance(points, Mapping) or not isinstance(points, (list, tuple)):
        raise TuneError(f"{owner}: `points_to_evaluate` must be a list of config dicts, got {points!r}")
    checked = []
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise TuneError(f"{owner}: points_to_evaluate[{index}] must be a config dict, got {point!r}")
        _check(owner, index, point, space, ("config",))
        checked.append(dict(point))
    return checked


def _check(owner: str, index: int, point: Mapping[str, Any], space: Mapping[str, Any],
           path: tuple[str, ...]) -> None:
    where = f"{owner}: points_to_evaluate[{index}]"
    for key, value in point.items():
        here = (*path, key)
        if key not in space:
            hint = closest(str(key), [str(k) for k in space])
            raise TuneError(
                f"{where} sets `{format_path(here)}`, which is not in the search space (its keys at "
                f"this level: {', '.join(map(repr, space)) or '(none)'})"
                + (f"; did you mean {hint!r}?" if hint else "")
            )
        domain = space[key]
        if isinstance(domain, Domain):
            if not domain.allows(value):
                raise TuneError(f"{where}: `{format_path(here)}` = {value!r} is outside its domain {domain!r}")
        elif search_kind(domain, here) == GRID:
            if value not in domain["grid_search"]:
                raise TuneError(f"{where}: `{format_path(here)}` = {value!r} is not one of its grid values "
                                f"{domain['grid_search']!r}")
        elif isinstance(domain, Mapping) and isinstance(value, Mapping):
            _check(owner, index, value, domain, here)
