"""Recognising search values in a spec, and evaluating the conditional ones.

Search values: ``{"grid_search": [...]}``, a ``Domain`` (``uniform``, ``choice``...), ``sample_from(f)``,
a plain function of one argument (``lambda spec: ...``, as in the seed) and ``{"eval": "expr"}``. Any
other value is a constant; to pass a one-argument function as a constant, wrap it
(``functools.partial(f)``). A conditional value is called with a read-only view of the partially
resolved spec (``spec.config.lr`` or ``spec["config"]["lr"]``) that raises when it reads a value not
resolved yet. The variant generator decides *when* to evaluate; this module only says *what*.
"""

from __future__ import annotations

import functools
import inspect
import random
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tune_core.errors import RecursiveDependencyError, TuneError, describe_callable
from tune_core.search.sample import EVAL_KEY, GRID_KEY, Domain, SampleFrom

__all__ = [
    "CONDITIONAL",
    "GRID",
    "SAMPLE",
    "Path",
    "UnresolvedRead",
    "contains_search",
    "copy_tree",
    "dependency_error",
    "describe",
    "eval_expression",
    "evaluate",
    "format_path",
    "is_search_value",
    "search_kind",
    "short_key",
]

#: A key path into a spec: dict keys and list indices, e.g. ``("config", "layers", 0)``.
Path = tuple[Any, ...]
GRID, SAMPLE, CONDITIONAL = "grid", "sample", "conditional"
#: Leaf types that are never search values and need no copy (the common case, checked first).
_ATOMS = frozenset({int, float, str, bool, type(None), bytes, complex})


def format_path(path: Path) -> str:
    """``config.layers[0].units``: a path as error messages show it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<spec>"


def short_key(path: Path) -> str:
    """The last string element of ``path`` plus the list indices after it (``lr``, ``layers_0``)."""
    if path and isinstance(path[-1], str):
        return path[-1]
    last = max((i for i, part in enumerate(path) if isinstance(part, str)), default=0)
    return "_".join(str(part) for part in path[last:])


def _takes_spec(func: types.FunctionType) -> bool:
    """True when ``func`` can be called with exactly one argument, the spec."""
    try:
        inspect.signature(func).bind(None)
    except (TypeError, ValueError):
        return False
    return True


def search_kind(value: Any, path: Path = ()) -> str | None:
    """``GRID``, ``SAMPLE``, ``CONDITIONAL``, or ``None`` for a constant (or a container).

    Raises:
        TuneError: a malformed ``{"grid_search": ...}`` or ``{"eval": ...}``, naming ``path``.
    """
    if type(value) in _ATOMS:
        return None
    if isinstance(value, Domain):
        return SAMPLE
    if isinstance(value, SampleFrom):
        return CONDITIONAL
    if isinstance(value, types.FunctionType):
        return CONDITIONAL if _takes_spec(value) else None
    if isinstance(value, dict) and len(value) == 1:
        if GRID_KEY in value:
            values = value[GRID_KEY]
            if not isinstance(values, (list, tuple)):
                raise TuneError(
                    f"`{format_path(path)}`: grid_search requires a list of values, "
                    f"got {type(values).__name__} {values!r}"
                )
            if not values:
                raise TuneError(f"`{format_path(path)}`: grid_search requires at least one value, got []")
            return GRID
        if EVAL_KEY in value:
            if not isinstance(value[EVAL_KEY], str):
                raise TuneError(
                    f"`{format_path(path)}`: {{'eval': ...}} requires a Python expression string, "
                    f"got {value[EVAL_KEY]!r}"
                )
            return CONDITIONAL
    return None


def is_search_value(value: Any) -> bool:
    """True for a grid, a distribution, ``sample_from``, a one-argument function or an eval dict."""
    return search_kind(value) is not None


def contains_search(node: Any) -> bool:
    """True when ``node`` is or holds (in its dicts and lists) a search value."""
    if search_kind(node) is not None:
        return True
    if isinstance(node, dict):
        return any(contains_search(value) for value in node.values())
    if isinstance(node, list):
        return any(contains_search(value) for value in node)
    return False


def copy_tree(node: Any) -> Any:
    """Copy the dicts and lists of ``node`` (and unwrap spec views); other objects are shared.

    Leaves are not deep-copied: they reach each trial by pickling anyway, and a large constant (an
    array, a dataset handle) would otherwise be copied once per variant.
    """
    cls = type(node)
    if cls in _ATOMS:
        return node
    if cls is dict or isinstance(node, dict):
        return {key: copy_tree(value) for key, value in node.items()}
    if cls is list or isinstance(node, list):
        return [copy_tree(value) for value in node]
    if cls is _SpecView or cls is _ListView:
        return copy_tree(node._data)
    return node


def describe(value: Any) -> str:
    """A short description of a search value for messages (functions by name and line)."""
    func = value.func if isinstance(value, SampleFrom) else value
    if isinstance(func, types.FunctionType):
        return f"function {describe_callable(func)}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class UnresolvedRead(RecursiveDependencyError):
    """A conditional value read ``path``, whose value is not resolved yet."""

    def __init__(self, path: Path, value: Any) -> None:
        super().__init__(f"`{short_key(path)}` is not resolved yet ({describe(value)})")
        self.path = path
        self.value = value


def dependency_error(path: Path, exc: RecursiveDependencyError) -> RecursiveDependencyError:
    """The error for the conditional value at ``path`` that stayed blocked on ``exc``."""
    if not isinstance(exc, UnresolvedRead):
        return exc
    return RecursiveDependencyError(
        f"`{short_key(path)}` recursively depends on `{short_key(exc.path)}`: "
        f"`{format_path(path)}` reads `{format_path(exc.path)}`, which is still unresolved "
        f"({describe(exc.value)}); a conditional value may only read values that resolve without it"
    )


def _wrap(value: Any, path: Path) -> Any:
    if search_kind(value, path) is not None:
        raise UnresolvedRead(path, value)
    if isinstance(value, dict):
        return _SpecView(value, path)
    if isinstance(value, list):
        return _ListView(value, path)
    return value


class _SpecView(Mapping[Any, Any]):
    """What a conditional value sees of a dict: attribute and item access, read-only."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[Any, Any], path: Path) -> None:
        self._data = data
        self._path = path

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._data[key], (*self._path, key))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            keys = ", ".join(map(str, self._data)) or "(none)"
            raise AttributeError(f"`{format_path(self._path)}` has no key {name!r} (keys: {keys})") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"spec({self._data!r})"


class _ListView(Sequence[Any]):
    """What a conditional value sees of a list inside the spec."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: list[Any], path: Path) -> None:
        self._data = data
        self._path = path

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._data))[index]]
        try:
            index = range(len(self._data))[index]  # Negative indices normalised, for the path.
        except IndexError:
            raise IndexError(f"`{format_path(self._path)}[{index}]`: index out of range, the list has "
                             f"{len(self._data)} items") from None
        return _wrap(self._data[index], (*self._path, index))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"spec({self._data!r})"


class _SeededRandom:
    """``random`` inside an eval expression: the experiment's seeded generator, the module as fallback."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rng, name) if hasattr(self._rng, name) else getattr(random, name)


@functools.cache
def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


@functools.lru_cache(maxsize=256)
def _compile(expr: str) -> types.CodeType:
    return compile(expr, f"<eval {expr!r}>", "eval")


def eval_expression(expr: str, spec: Any, rng: random.Random) -> Any:
    """Evaluate the seed's ``{"eval": expr}`` with ``spec``, ``random`` and (if installed) ``np``.

    ``random`` is the experiment's seeded generator, so ``random.uniform(0, 1)`` is reproducible;
    ``np.random`` is numpy's global state and is not. numpy is imported on first use only.
    """
    namespace: dict[str, Any] = {"random": _SeededRandom(rng), "spec": spec}
    numpy = _numpy()
    if numpy is not None:
        namespace["np"] = numpy
    return eval(_compile(expr), namespace)


def evaluate(path: Path, node: Any, spec: dict[Any, Any], rng: random.Random) -> Any:
    """The value of the conditional ``node`` at ``path`` over ``spec``, with containers copied.

    Raises:
        UnresolvedRead: it read a value that is not resolved yet (the caller may retry later).
        TuneError: it raised anything else, naming ``path``.
    """
    view = _SpecView(spec, ())
    try:
        if isinstance(node, SampleFrom):
            value = node.func(view)
        elif isinstance(node, dict):
            value = eval_expression(node[EVAL_KEY], view, rng)
        else:
            value = node(view)
    except (RecursiveDependencyError, TuneError):
        raise
    except Exception as exc:
        raise TuneError(
            f"`{format_path(path)}`: evaluating {describe(node)} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return copy_tree(value)
