"""Wording for everything that can go wrong with a plugin, and the one place that decides warn-or-raise.

Every message names the plugin and its distribution and version, and says how to get rid of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tune_core.errors import TuneError

if TYPE_CHECKING:
    from tune_core.plugins.types import PluginSource

__all__ = [
    "PluginError",
    "PluginWarning",
    "add_note",
    "conflict_error",
    "describe_exception",
    "disable_hint",
    "report_failure",
]


class PluginError(TuneError):
    """A plugin could not be loaded, returned a bad record, or two plugins claim one name."""


class PluginWarning(UserWarning):
    """A broken plugin was skipped (set ``TUNE_STRICT_PLUGINS=1`` to make this an error)."""


def describe_exception(exc: BaseException, limit: int = 400) -> str:
    """``ImportError: no module named foo``: the type and message on one line, cut at ``limit``."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def disable_hint(source: PluginSource) -> str:
    """How the user gets rid of this plugin, or ``""`` when there is no switch for it."""
    if source.entry_point:
        return f"; disable with TUNE_DISABLE_PLUGINS={source.entry_point}"
    return ""


def failure_message(source: PluginSource, what: str, exc: BaseException | str) -> str:
    """``could not load plugin 'asha' (tune-asha 0.3.1): ImportError: ...; disable with ...``."""
    detail = exc if isinstance(exc, str) else describe_exception(exc)
    return f"{what} plugin {source.plugin!r} ({source.label}): {detail}{disable_hint(source)}"


def report_failure(
    source: PluginSource,
    what: str,
    exc: BaseException | str,
    *,
    strict: bool,
    stacklevel: int = 3,
) -> str:
    """Warn that a plugin was skipped, or raise ``PluginError`` when ``strict``; return the message.

    Args:
        source: the plugin at fault.
        what: the verb phrase that starts the message, e.g. ``"could not load"``.
        exc: the exception it raised, or a description of what it did wrong.
        strict: raise instead of warning (``TUNE_STRICT_PLUGINS=1``).
        stacklevel: passed to ``warnings.warn``.
    """
    message = failure_message(source, what, exc)
    if strict:
        error = PluginError(message)
        if isinstance(exc, BaseException):
            raise error from exc
        raise error
    warnings.warn(message, PluginWarning, stacklevel=stacklevel)
    return message


def conflict_error(kind: str, name: str, sources: Sequence[PluginSource]) -> PluginError:
    """``scheduler 'asha' is provided by tune-asha 0.3.1 and tune-contrib 1.2.0``."""
    labels = [
        f"{s.label} (plugin {s.plugin!r})" if s.dist is None or s.builtin else s.label
        for s in sources
    ]
    if len(set(labels)) == 1:
        text = f"{kind} {name!r} is provided twice by {labels[0]}"
    else:
        text = f"{kind} {name!r} is provided by {', '.join(labels[:-1])} and {labels[-1]}"
    hints = sorted({s.entry_point for s in sources if s.entry_point})
    if hints:
        text += f"; uninstall one, or disable one with TUNE_DISABLE_PLUGINS={' or '.join(hints)}"
    return PluginError(text)


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` on Python 3.11+; on 3.10 keep the note in ``__notes__`` all the same."""
    adder = getattr(exc, "add_note", None)
    if adder is not None:
        adder(note)
    else:  # pragma: no cover - Python 3.10
        notes = list(getattr(exc, "__notes__", ()))
        notes.append(note)
        exc.__notes__ = notes  # type: ignore[attr-defined]
