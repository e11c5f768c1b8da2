"""The one exception users see: every bad input and every failed experiment raises ``TuneError``."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ExecutorLost", "RecursiveDependencyError", "TuneError", "closest", "describe_callable",
           "unknown_name_error"]


class TuneError(Exception):
    """A problem with the user's experiment: bad input, or trials that did not complete."""


class ExecutorLost(TuneError):
    """Raised by an executor when the place its trials run is gone (a Ray cluster went away): the run
    stops with its running trials recorded as running, so ``tune-core resume`` continues them (on a
    new cluster, or with another executor), and the error says how."""


class RecursiveDependencyError(TuneError):
    """A conditional config value reads a value that is not resolved yet (or never will be)."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The nearest spelling of ``name`` among ``choices``, for "did you mean" hints."""
    import difflib  # Only error paths pay for it.

    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_name_error(kind: str, name: object, available: Iterable[str]) -> TuneError:
    """``TuneError`` for a name that is not registered, listing what is."""
    names = sorted(available)
    hint = closest(str(name), names)
    text = f"unknown {kind} {name!r}; available: {', '.join(names) or '(none)'}"
    if hint:
        text += f" (did you mean {hint!r}?)"
    return TuneError(text)


def describe_callable(func: object) -> str:
    """``name at file:line`` for a user's function (a lambda is told apart by where it is)."""
    code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", None) or type(func).__name__
    if code is None:
        return name
    return f"{name} at {code.co_filename}:{code.co_firstlineno}"
