"""The driver-worker pipe framing: real pipes, messages of every size, batches, the end of the pipe."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from tune_core.executors.local.pipes import PipeReader, PipeWriter


@pytest.fixture
def pipe() -> Iterator[tuple[PipeReader, PipeWriter]]:
    read_fd, write_fd = os.pipe()
    reader, writer = PipeReader(read_fd), PipeWriter(write_fd)
    yield reader, writer
    reader.close()
    writer.close()


def test_messages_of_every_size_arrive_in_order(pipe: tuple[PipeReader, PipeWriter]) -> None:
    reader, writer = pipe
    sizes = [0, 10, 16_000, 16_385, 70_000, 1_000_000, 3]
    messages = [("msg", i, b"x" * size) for i, size in enumerate(sizes)]
    # Bigger than the pipe's buffer, so the writer blocks until the reader reads: send from a thread.
    sender = threading.Thread(target=lambda: (writer.send(*messages[:4]), writer.send(*messages[4:])))
    sender.start()
    assert [reader.recv() for _ in messages] == messages
    sender.join()


def test_a_batch_is_one_write_and_is_read_ahead(pipe: tuple[PipeReader, PipeWriter]) -> None:
    reader, writer = pipe
    writer.send(("results", [1, 2]), ("finished",))
    assert not reader.has_frame()  # Nothing read yet.
    assert reader.recv() == ("results", [1, 2])
    assert reader.has_frame()  # The second frame came in the same read.
    os.close(writer.fd)  # Even with the pipe closed, the buffered frame is there.
    writer.fd = -1
    assert reader.poll()
    assert reader.recv() == ("finished",)
    with pytest.raises(EOFError):
        reader.recv()


def test_poll_does_not_block_and_sees_waiting_data(pipe: tuple[PipeReader, PipeWriter]) -> None:
    reader, writer = pipe
    assert not reader.poll()
    writer.send({"a": 1})
    assert reader.poll()
    assert reader.recv() == {"a": 1}
    assert not reader.poll()


def test_a_batch_that_does_not_pickle_sends_nothing(pipe: tuple[PipeReader, PipeWriter]) -> None:
    reader, writer = pipe
    with pytest.raises(Exception, match="pickle"):
        writer.send(("big", b"x" * 70_000), ("bad", threading.Lock()))
    assert not reader.poll()  # Not even the frame before it: the sender can resend what pickles.
    writer.send(("ok",))
    assert reader.recv() == ("ok",)
