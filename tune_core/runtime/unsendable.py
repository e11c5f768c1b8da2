"""Which reported value could not be sent to the driver, and the message that names it.

Results are pickled once, in batches, by the transport (the hot path checks nothing). Only when a
batch fails to pickle does the host ask here which result and which key hold the culprit, pickling
the results one by one: everything reported before it still reaches the driver, and the trial fails
with a message that names the key, the value and its type.
"""

from __future__ import annotations

import pickle
import reprlib
from typing import Any

__all__ = ["find_unsendable", "message"]

_repr = reprlib.Repr()
_repr.maxother = _repr.maxstring = 120


def _pickles(obj: Any) -> Exception | None:
    try:
        pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return exc
    return None


def find_unsendable(results: list[dict[str, Any]]) -> tuple[int, str] | None:
    """``(index of the first result that cannot be pickled, message naming its key)``, or ``None``."""
    for index, result in enumerate(results):
        if _pickles(result) is None:
            continue
        for key, value in result.items():
            error = _pickles(value)
            if error is not None:
                return index, message(result, key, value, error)
        return index, message(result, None, result, _pickles(result))
    return None


def message(result: dict[str, Any], key: str | None, value: Any, error: Exception | None) -> str:
    """Why ``result`` cannot be sent: its key, the value and its type, and what to report instead."""
    where = f"result {result.get('training_iteration', '?')} of trial {result.get('trial_id', '?')}"
    what = f"the value of {key!r}" if key is not None else "the result"
    return (
        f"{where} cannot be sent to the driver: {what}, {_repr.repr(value)} "
        f"({_type_name(value)}), cannot be pickled "
        f"({type(error).__name__}: {error}). Report numbers, strings, or lists and dicts of them "
        f"(e.g. str(value)); the results reported before it were kept"
    )


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
