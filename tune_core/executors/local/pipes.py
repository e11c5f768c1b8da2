"""Both ends of the driver-worker pipes: pickled messages in length-prefixed frames, plain system calls.

A frame is a 4-byte big-endian length and the pickle (or -1, an 8-byte length and the pickle, for
huge messages): the framing ``multiprocessing.connection`` uses. Written with ``os.write`` and read
through a buffer, so a batch of small messages costs one system call each way and no
``multiprocessing`` import (tens of milliseconds of a worker's start-up).
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
_READ_SIZE = 65536
_JOIN_BELOW = 16384  # Frames up to this size are copied into one write; bigger ones are written as they are.


class PipeWriter:
    """Sends pickled objects down a pipe, one frame each."""

    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def send(self, *objs: Any) -> None:
        """Send each of ``objs`` as its own frame; small frames go out in one write (one wake-up).

        All are pickled before anything is written: when one cannot be pickled, none is sent.
        """
        frames = [pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) for obj in objs]
        small: list[bytes] = []
        for data in frames:
            size = len(data)
            if size <= _JOIN_BELOW:
                small += (_SHORT.pack(size), data)
                continue
            if small:
                self._write(b"".join(small))
                small = []
            self._write(_SHORT.pack(-1) + _LONG.pack(size) if size > 0x7FFFFFFF else _SHORT.pack(size))
            self._write(data)
        if small:
            self._write(b"".join(small))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class PipeReader:
    """Receives the objects a ``PipeWriter`` sent, reading ahead into a buffer."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN | select.POLLHUP)

    def fileno(self) -> int:
        return self.fd

    def poll(self) -> bool:
        """Whether a message (or the end of the pipe) is waiting, without blocking."""
        return self.has_frame() or bool(self._poller.poll(0))

    def wait(self, timeout: float) -> bool:
        """Whether a message (or the end of the pipe) arrives within ``timeout`` seconds."""
        return self.has_frame() or bool(self._poller.poll(max(timeout, 0.0) * 1000.0))

    def has_frame(self) -> bool:
        """Whether a whole message is already buffered (so ``recv`` returns without a system call)."""
        buffer = self._buffer
        if len(buffer) < 4:
            return False
        (size,) = _SHORT.unpack_from(buffer)
        if size == -1:
            return len(buffer) >= 12 and len(buffer) >= 12 + _LONG.unpack_from(buffer, 4)[0]
        return len(buffer) >= 4 + size

    def recv(self) -> Any:
        """The next object; ``EOFError`` once the other end has closed."""
        self._fill(4)
        (size,) = _SHORT.unpack_from(self._buffer)
        start = 4
        if size == -1:
            self._fill(12)
            (size,) = _LONG.unpack_from(self._buffer, 4)
            start = 12
        self._fill(start + size)
        with memoryview(self._buffer) as view:
            obj = pickle.loads(view[start:start + size])
        del self._buffer[:start + size]
        return obj

    def _fill(self, wanted: int) -> None:
        buffer = self._buffer
        while len(buffer) < wanted:
            chunk = os.read(self.fd, max(_READ_SIZE, wanted - len(buffer)))
            if not chunk:
                raise EOFError
            buffer += chunk

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)
