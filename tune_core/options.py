"""Checks for a component's options, so a wrong value fails where it is given, naming it.

Without them ``grace_period="five"`` is accepted and every trial later fails on a ``'>='``
``TypeError`` that never names the option. Each check returns the value (converted where that is
lossless) or raises ``TuneError`` with the owner, the option, what is allowed and what was given.
Plugin authors use them in their constructors:

Example:
    >>> from tune_core import options
    >>> options.number("MyScheduler", "grace_period", 5, minimum=0)
    5
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from typing import Any

from tune_core.errors import TuneError, closest

__all__ = ["choice", "flag", "integer", "number", "path", "text"]


def _given(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def number(owner: str, name: str, value: Any, *, minimum: float | None = None,
           maximum: float | None = None, optional: bool = False) -> Any:
    """A real number (int or float, not bool, not NaN) within ``[minimum, maximum]``."""
    if value is None and optional:
        return None
    bounds = "".join((f" >= {minimum}" if minimum is not None else "",
                      " and" if minimum is not None and maximum is not None else "",
                      f" <= {maximum}" if maximum is not None else ""))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TuneError(f"{owner}: `{name}` must be a number{bounds}, got {_given(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise TuneError(f"{owner}: `{name}` must be a number{bounds}, got {value!r}")
    return value


def integer(owner: str, name: str, value: Any, *, minimum: int | None = None, optional: bool = False) -> Any:
    """A whole number (not bool) ``>= minimum``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise TuneError(f"{owner}: `{name}` must be an integer{bound}, got {_given(value)}")
    return value


def flag(owner: str, name: str, value: Any) -> bool:
    """``True`` or ``False`` only: the string ``"no"`` is truthy, so it must not pass as true."""
    if not isinstance(value, bool):
        raise TuneError(f"{owner}: `{name}` must be true or false, got {_given(value)}")
    return value


def text(owner: str, name: str, value: Any, *, optional: bool = False) -> Any:
    """A non-empty string (a result field, a name)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise TuneError(f"{owner}: `{name}` must be a non-empty string, got {_given(value)}")
    return value


def choice(owner: str, name: str, value: Any, allowed: Collection[Any]) -> Any:
    """One of ``allowed``, with a "did you mean" for a near miss."""
    if value not in allowed:
        hint = closest(value, [str(a) for a in allowed]) if isinstance(value, str) else None
        raise TuneError(f"{owner}: `{name}` must be one of {', '.join(map(repr, allowed))}, got {value!r}"
                        + (f" (did you mean {hint!r}?)" if hint else ""))
    return value


def path(owner: str, name: str, value: Any, *, optional: bool = False) -> Any:
    """A filesystem path (``str`` or ``os.PathLike``), returned as ``str`` with ``~`` expanded."""
    if value is None and optional:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise TuneError(f"{owner}: `{name}` must be a path (a string), got {_given(value)}")
    return os.path.expanduser(value)
