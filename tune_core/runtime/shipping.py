"""How a trainable travels by value to where its trials run: cloudpickle, keeping its code's file names.

cloudpickle (3.x) writes ``<dynamic-code>`` as the file name of every code object it pickles by value
(functions defined in ``__main__``, a notebook, a test), so a trial's traceback would name no file.
The pickler here keeps ``co_filename`` (line numbers travel anyway): a traceback from a worker names
the user's file and line, and shows the line itself where that file exists (``linecache`` reads it).
"""

from __future__ import annotations

import functools
import io
import types
from collections import ChainMap
from typing import Any

__all__ = ["dumps", "loads"]

_CLOUDPICKLE_NAME = "<dynamic-code>"


def dumps(obj: Any) -> bytes:
    """``obj`` as cloudpickle bytes (functions and classes of ``__main__`` by value), file names kept."""
    buffer = io.BytesIO()
    _pickler()(buffer).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """What ``dumps`` made (any cloudpickle bytes)."""
    import cloudpickle

    return cloudpickle.loads(data)


@functools.cache
def _pickler() -> Any:
    import cloudpickle

    base = cloudpickle.Pickler
    reduce_code = base.dispatch_table.get(types.CodeType)
    if reduce_code is None:  # An older cloudpickle keeps file names itself.
        return base

    def reduce_keeping_file_name(code: types.CodeType) -> Any:
        rebuild, args = reduce_code(code)
        return rebuild, tuple(code.co_filename if type(a) is str and a == _CLOUDPICKLE_NAME else a for a in args)

    return type("FileNamePickler", (base,), {
        "dispatch_table": ChainMap({types.CodeType: reduce_keeping_file_name}, base.dispatch_table),
    })
