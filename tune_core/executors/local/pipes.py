"""The worker's ends of its two pipes: pickled messages, framed as ``multiprocessing`` frames them.

The driver uses ``multiprocessing.connection.Connection``; a worker speaks the same framing (a 4-byte
big-endian length, or -1 and an 8-byte length for huge messages) with plain system calls, because
importing ``multiprocessing`` costs a worker tens of milliseconds of start-up on every boot.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import Any

__all__ = ["PipeReader", "PipeWriter"]

_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


class PipeWriter:
    """Sends pickled objects down a pipe, one frame each."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, obj: Any) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        size = len(data)
        if size > 0x7FFFFFFF:
            self._write(_SHORT.pack(-1) + _LONG.pack(size))
            self._write(data)
        elif size > 16384:
            self._write(_SHORT.pack(size))
            self._write(data)
        else:
            self._write(_SHORT.pack(size) + data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


class PipeReader:
    """Receives the objects a ``Connection`` (or a ``PipeWriter``) sent."""

    def __init__(self, fd: int):
        self.fd = fd
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN | select.POLLHUP)

    def poll(self) -> bool:
        """Whether a message (or the end of the pipe) is waiting, without blocking."""
        return bool(self._poller.poll(0))

    def recv(self) -> Any:
        """The next object; ``EOFError`` once the other end has closed."""
        (size,) = _SHORT.unpack(self._read(4))
        if size == -1:
            (size,) = _LONG.unpack(self._read(8))
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = os.read(self.fd, size)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)
