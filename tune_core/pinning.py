"""Share a large object with every trial: ``pin_in_object_store(obj)`` / ``get_pinned_object(handle)``.

The object is pickled once (protocol 5, its large buffers stored out of band) into a file in shared
memory (``/dev/shm`` where there is one). A worker maps that file and unpickles it once; numpy
arrays then point straight into the shared pages, read-only, so N trials on M workers cost one copy
in memory, not N. The files go away when the driver exits.
"""

from __future__ import annotations

import atexit
import mmap
import os
import pickle
import shutil
import struct
import tempfile
import uuid
from typing import Any

from tune_core.errors import TuneError

__all__ = ["PREFIX", "get_pinned_object", "pin_in_object_store"]

PREFIX = "tune_core.PinnedObject:"
_HEADER = struct.Struct("<QQ")  # pickle length, buffer count
_ALIGN = 64

_loaded: dict[str, Any] = {}
_store_dir: str | None = None


def _store() -> str:
    global _store_dir
    if _store_dir is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _store_dir = tempfile.mkdtemp(prefix=f"tune_core_pins_{os.getpid()}_", dir=base)
        atexit.register(shutil.rmtree, _store_dir, True)
    return _store_dir


def pin_in_object_store(obj: Any) -> str:
    """Store ``obj`` once for every trial of this driver; returns a small string handle.

    The handle can be captured in a trainable's closure or put in a config.
    """
    buffers: list[pickle.PickleBuffer] = []
    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    except Exception as exc:
        raise TuneError(f"pin_in_object_store: the object cannot be pickled: {exc}") from exc
    path = os.path.join(_store(), uuid.uuid4().hex + ".pin")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(_HEADER.pack(len(data), len(buffers)))
        raws = [b.raw() for b in buffers]
        for raw in raws:
            f.write(struct.pack("<Q", raw.nbytes))
        f.write(data)
        for raw in raws:
            f.write(b"\0" * (-f.tell() % _ALIGN))
            f.write(raw)
    os.replace(tmp, path)
    handle = PREFIX + path
    _loaded[handle] = obj
    return handle


def get_pinned_object(handle: str) -> Any:
    """The object behind ``handle``; loaded once per process, its large buffers shared read-only."""
    obj = _loaded.get(handle)
    if obj is not None or handle in _loaded:
        return obj
    if not isinstance(handle, str) or not handle.startswith(PREFIX):
        raise TuneError(f"get_pinned_object: {handle!r} is not a handle from pin_in_object_store()")
    path = handle[len(PREFIX):]
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise TuneError(f"get_pinned_object: the pinned object at {path} is gone (did its driver exit?)") from exc
    view = memoryview(mapped)
    length, count = _HEADER.unpack_from(view, 0)
    offset = _HEADER.size
    sizes = [struct.unpack_from("<Q", view, offset + 8 * i)[0] for i in range(count)]
    offset += 8 * count
    data = view[offset: offset + length]
    offset += length
    buffers = []
    for size in sizes:
        offset += -offset % _ALIGN
        buffers.append(view[offset: offset + size])
        offset += size
    obj = pickle.loads(data, buffers=buffers)
    _loaded[handle] = obj
    return obj
