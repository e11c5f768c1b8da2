"""Which plugin is at fault: names for the objects a run is made of, and notes on their errors.

Every scheduler, searcher, logger and executor of a run is a plugin (built-in or not), or an object
the user passed in. When one raises during a run, or returns what its contract does not allow, the
error says which: ``scheduler 'asha' (plugin 'hyperband', tune-hyperband 0.1.0)``, with the method.
Objects made from a registration record are named after it; others after their class, module and
the distribution that installed it. Looking the distribution up is slow, so it happens only when
something has already gone wrong.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from tune_core.errors import TuneError
from tune_core.plugins.errors import add_note
from tune_core.plugins.types import Registered

__all__ = ["blame", "describe", "name_culprit", "remember", "wrong_return"]

_made: weakref.WeakKeyDictionary[Any, Registered[Any]] = weakref.WeakKeyDictionary()
_made_by_id: dict[int, tuple[Any, Registered[Any]]] = {}


def remember(product: Any, reg: Registered[Any]) -> None:
    """Note that ``product`` was made from the record ``reg`` (by the registry)."""
    try:
        _made[product] = reg
    except TypeError:  # Not weak-referenceable (``__slots__``): keep it alive with its record.
        _made_by_id[id(product)] = (product, reg)


def _record_of(obj: Any) -> Registered[Any] | None:
    try:
        reg = _made.get(obj)
    except TypeError:
        reg = None
    if reg is None:
        entry = _made_by_id.get(id(obj))
        reg = entry[1] if entry is not None and entry[0] is obj else None
    return reg


def describe(role: str, obj: Any) -> str:
    """``scheduler 'asha' (plugin 'hyperband', tune-hyperband 0.1.0)``: who ``obj`` is, for messages."""
    reg = _record_of(obj)
    if reg is not None:
        return f"{role} {reg.name!r} (plugin {reg.source.plugin!r}, {reg.source.label})"
    cls = type(obj)
    module = cls.__module__ or "?"
    if module == "__main__":
        return f"{role} {cls.__qualname__} (defined in __main__)"
    top = module.split(".")[0]
    dist = _distribution_of(top)
    return f"{role} {cls.__qualname__} (from {module}" + (f", {dist})" if dist else ")")


def _distribution_of(package: str) -> str | None:
    import importlib.metadata

    try:
        names = importlib.metadata.packages_distributions().get(package) or []
        if not names:
            return None
        return f"{names[0]} {importlib.metadata.version(names[0])}"
    except Exception:
        return None


def name_culprit(exc: BaseException, components: Sequence[tuple[str, Any]]) -> None:
    """Add a note to ``exc`` naming the component whose method raised it, if one did.

    The deepest frame in the traceback that runs a method of one of ``components`` is the culprit
    (a searcher inside the search algorithm that wraps it is named, not the wrapper).
    """
    by_id = {id(obj): (role, obj) for role, obj in components if obj is not None}
    culprit: tuple[str, Any, str] | None = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_argcount and code.co_varnames[0] == "self":
            self_obj = tb.tb_frame.f_locals.get("self")
            entry = by_id.get(id(self_obj))
            if entry is not None and entry[1] is self_obj:
                culprit = (entry[0], self_obj, code.co_name)
        tb = tb.tb_next
    if culprit is None:
        return
    role, obj, method = culprit
    note = f"raised in {type(obj).__name__}.{method} of {describe(role, obj)}"
    if note not in getattr(exc, "__notes__", ()):
        add_note(exc, note)


@contextlib.contextmanager
def blame(components: Sequence[tuple[str, Any]]) -> Iterator[None]:
    """Name the culprit (``name_culprit``) of any exception that leaves the block."""
    try:
        yield
    except Exception as exc:
        name_culprit(exc, components)
        raise


def wrong_return(role: str, obj: Any, method: str, value: Any, allowed: str) -> TuneError:
    """The error for a plugin method that returned something its contract does not allow."""
    return TuneError(
        f"{describe(role, obj)}: {type(obj).__name__}.{method}() returned {value!r} "
        f"({type(value).__name__}); allowed: {allowed}"
    )
