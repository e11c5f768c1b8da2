"""Turning an experiment spec into resolved variants, in the seed's order, lazily.

``generate_variants`` walks a spec through dicts and lists (list elements addressed by index), finds
the search values (see ``tune_core.search.resolve``) and yields one fully resolved spec per variant.
``format_tag`` names a variant; ``count_variants`` sizes a spec without expanding it.

The order, level by level: the grid variables, sorted by path, are expanded as an odometer whose
*first* variable varies fastest; at each grid point the distributions are sampled (in path order),
then the conditional values are evaluated in passes until no pass makes progress. A value that comes
out as a search value again (a lambda returning a grid, a grid of distributions) opens the next level
inside that point, at most ``MAX_RESOLUTION_PASSES`` deep; a value sampled at an outer level is then
shared by the variants the inner level expands into (as in Ray Tune).
"""

from __future__ import annotations

import functools
import numbers
import random
from collections.abc import Iterator, Mapping
from typing import Any

from tune_core.errors import RecursiveDependencyError, TuneError
from tune_core.search.resolve import (
    CONDITIONAL,
    GRID,
    SAMPLE,
    Path,
    contains_search,
    copy_tree,
    dependency_error,
    evaluate,
    format_path,
    search_kind,
    short_key,
)
from tune_core.search.sample import GRID_KEY, Categorical

__all__ = ["MAX_RESOLUTION_PASSES", "count_variants", "find_search_values", "format_tag", "generate_variants"]

MAX_RESOLUTION_PASSES = 20
#: Top-level spec keys that never appear in a tag (the trial name already shows them).
_UNTAGGED = frozenset({"run", "env", "resources", "trial_resources"})

Variant = tuple[dict[Path, Any], dict[Any, Any]]


@functools.lru_cache(maxsize=4096)
def _path_key(path: Path) -> tuple[tuple[int, Any], ...]:
    """A sort key for paths whose elements mix ints and strings (or other dict keys)."""
    return tuple((0, p) if isinstance(p, int) else (1, p) if isinstance(p, str) else (2, repr(p)) for p in path)


def _find(node: Any, path: Path, out: list[tuple[Path, str, Any]], keep: frozenset[Path]) -> None:
    if path in keep:
        return
    kind = search_kind(node, path)
    if kind is not None:
        out.append((path, kind, node))
    elif isinstance(node, dict):
        for key, value in node.items():
            _find(value, (*path, key), out, keep)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _find(value, (*path, index), out, keep)


def find_search_values(spec: Any, keep: frozenset[Path] = frozenset()) -> list[tuple[Path, str, Any]]:
    """Every search value in ``spec`` as ``(path, kind, value)``, skipping the paths in ``keep``."""
    found: list[tuple[Path, str, Any]] = []
    _find(spec, (), found, keep)
    return found


def _get(spec: Any, path: Path) -> Any:
    for part in path:
        spec = spec[part]
    return spec


def _set(spec: Any, path: Path, value: Any) -> None:
    _get(spec, path[:-1])[path[-1]] = value


def _resolve_conditionals(
    spec: dict[Any, Any], pending: list[tuple[Path, Any]], resolved: dict[Path, Any], rng: random.Random
) -> list[tuple[Path, Any]]:
    """Evaluate conditional values in passes; return those still waiting on an unresolved value.

    Raises ``RecursiveDependencyError`` when some still wait and nothing resolved at this level can
    unblock them at the next one (a cycle, or a read of a value that never resolves).
    """
    error: tuple[Path, RecursiveDependencyError] | None = None
    while pending:
        waiting = []
        for path, node in pending:
            try:
                value = evaluate(path, node, spec, rng)
            except RecursiveDependencyError as exc:
                waiting.append((path, node))
                error = (path, exc)
                continue
            _set(spec, path, value)
            resolved[path] = value
        if len(waiting) == len(pending):
            break
        pending = waiting
    if pending and error is not None and not any(contains_search(v) for v in resolved.values()):
        raise dependency_error(*error)
    return pending


def _odometer(sizes: list[int]) -> Iterator[list[int]]:
    """Index lists over ``sizes``; the first position varies fastest (the seed's grid order)."""
    indices = [0] * len(sizes)
    while True:
        yield indices
        for position, size in enumerate(sizes):
            indices[position] += 1
            if indices[position] < size:
                break
            indices[position] = 0
        else:
            return


def _expand(spec: dict[Any, Any], rng: random.Random, depth: int, keep: frozenset[Path]) -> Iterator[Variant]:
    found = find_search_values(spec, keep)
    if not found:
        yield {}, spec
        return
    if depth >= MAX_RESOLUTION_PASSES:
        paths = ", ".join(f"`{format_path(path)}`" for path, _, _ in found)
        raise TuneError(f"search values still unresolved after {MAX_RESOLUTION_PASSES} passes: {paths}")
    found.sort(key=lambda item: _path_key(item[0]))
    grids = [(path, node[GRID_KEY]) for path, kind, node in found if kind == GRID]
    samples = [(path, node) for path, kind, node in found if kind == SAMPLE]
    conditionals = [(path, node) for path, kind, node in found if kind == CONDITIONAL]
    template = copy_tree(spec)
    for path, kind, _ in found:  # filled in per point: no need to copy the grid lists every time
        if kind != CONDITIONAL:
            _set(template, path, None)
    for indices in _odometer([len(values) for _, values in grids]):
        point = copy_tree(template)
        resolved: dict[Path, Any] = {}
        for (path, values), index in zip(grids, indices, strict=True):
            resolved[path] = value = copy_tree(values[index])
            _set(point, path, value)
        for path, domain in samples:
            resolved[path] = value = copy_tree(domain.sample(rng))
            _set(point, path, value)
        waiting = _resolve_conditionals(point, conditionals, resolved, rng)
        if not waiting and not any(contains_search(value) for value in resolved.values()):
            yield resolved, point
            continue
        for deeper, final in _expand(point, rng, depth + 1, keep):
            # A variable resolved further down replaces the container that held it.
            merged = {
                path: _get(final, path)
                for path in resolved
                if not any(inner[: len(path)] == path for inner in deeper)
            }
            merged.update(deeper)
            yield merged, final


def generate_variants(
    spec: dict[Any, Any], rng: random.Random | None = None, *, keep: frozenset[Path] = frozenset()
) -> Iterator[Variant]:
    """Yield ``(resolved variables by path, resolved spec)`` for every variant of ``spec``, lazily.

    Args:
        spec: e.g. ``{"config": experiment.config}``; it is not modified.
        rng: draws every random value (distributions, ``random`` in eval expressions), so a seeded
            one reproduces the variants. Lambdas that use their own randomness are not covered.
        keep: paths whose values are constants even if they look like search values (values a
            ``Searcher`` suggested).

    Raises:
        TuneError: a malformed search value or a failing conditional, naming its path;
            ``RecursiveDependencyError`` when conditional values wait on each other.
    """
    return _expand(spec, rng if rng is not None else random.Random(), 0, keep)


def _format_value(value: Any) -> str:
    cls = type(value)
    if cls is float:
        return f"{value:.5}"
    if cls is int or cls is str or cls is bool:
        return str(value)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.5}"
    return str(value)


def format_tag(index: int, resolved_vars: Mapping[Path, Any]) -> str:
    """The seed's experiment tag, e.g. ``0_bar=True,foo=1``; a trial name is ``<trainable>_<tag>``.

    Variables are sorted by path. A key is the last string element of its path plus any list
    indices after it (``lr``, ``layers_0``); keys that would repeat within one tag (``opt.lr`` and
    ``sched.lr``) are written as their whole dotted path less the leading ``config`` instead. Floats
    keep 5 significant digits (0.123456789 -> ``0.12346``); ``/`` becomes ``_``. No variables: the
    tag is just ``"<index>"``.
    """
    items = sorted(
        ((path, value) for path, value in resolved_vars.items() if path and path[0] not in _UNTAGGED),
        key=lambda item: _path_key(item[0]),
    )
    if not items:
        return str(index)
    keys = [short_key(path) for path, _ in items]
    parts = []
    for key, (path, value) in zip(keys, items, strict=True):
        if keys.count(key) > 1:
            key = ".".join(map(str, path[1:] if path[0] == "config" and len(path) > 1 else path))
        parts.append(f"{key}={_format_value(value)}".replace("/", "_"))
    return f"{index}_{','.join(parts)}"


def count_variants(node: Any, path: Path = ()) -> int | None:
    """How many variants ``node`` gives, or ``None`` when only evaluating conditionals would tell.

    Also validates every grid search on the way, so a malformed one fails before anything runs.
    """
    kind = search_kind(node, path)
    if kind == CONDITIONAL:
        return None
    if kind == SAMPLE:
        if isinstance(node, Categorical) and any(contains_search(c) for c in node.categories):
            return None
        return 1
    if kind == GRID:
        total = 0
        for index, value in enumerate(node[GRID_KEY]):
            count = count_variants(value, (*path, GRID_KEY, index))
            if count is None:
                return None
            total += count
        return total
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    product = 1
    for key, value in children:
        count = count_variants(value, (*path, key))
        if count is None:
            return None
        product *= count
    return product
