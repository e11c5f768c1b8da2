"""Pinned objects in shared memory: written once by the driver, mapped by each worker.

An object is pickled with protocol 5 into a file in ``/dev/shm`` (where there is one), its large
buffers out of band and aligned; a worker maps the file and unpickles it, so numpy arrays point
straight into the shared pages, read-only. The files go away when the driver exits.
"""

from __future__ import annotations

import atexit
import mmap
import os
import pickle
import shutil
import struct
import tempfile
from typing import Any

from tune_core.errors import TuneError

__all__ = ["load", "write"]

_HEADER = struct.Struct("<QQ")  # pickle length, buffer count
_ALIGN = 64
_store_dir: str | None = None


def _store() -> str:
    global _store_dir
    if _store_dir is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _store_dir = tempfile.mkdtemp(prefix=f"tune_core_pins_{os.getpid()}_", dir=base)
        atexit.register(shutil.rmtree, _store_dir, True)
    return _store_dir


def write(obj: Any) -> str:
    """Store ``obj`` in shared memory; return the file's path."""
    buffers: list[pickle.PickleBuffer] = []
    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    except Exception as exc:
        raise TuneError(f"pin_in_object_store: the object cannot be pickled: {exc}") from exc
    path = os.path.join(_store(), f"{os.urandom(8).hex()}.pin")
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
    return path


def load(path: str) -> Any:
    """The object stored at ``path``, its large buffers mapped read-only."""
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
    return pickle.loads(data, buffers=buffers)
