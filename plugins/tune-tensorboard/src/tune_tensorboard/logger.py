"""``TensorBoardLogger``: one TensorBoard event file per trial, scalars per result, the config as hparams.

What a trial's file holds, in order:

- ``file_version`` (``brain.Event:2``: TensorBoard's readers then honour ``SessionLog.START``), a
  ``SessionLog.START`` at step 0 (TensorBoard's multiplexer ignores the first START of a run, so the
  ones that matter are never first) and the hparams plugin's ``SessionStartInfo`` (the config);
- per result, one event at ``step = training_iteration`` with a ``simple_value`` for every numeric
  field, nested dicts flattened with ``/``;
- per restart from iteration ``n`` (a retried failure, a resumed pause, a resumed experiment), a
  ``SessionLog.START`` at step ``n + 1``: TensorBoard drops what it read at steps ``> n``, and the
  results the trial reports again take their place, so every step is shown once and in order;
- when the trial ends (``TERMINATED`` or ``ERROR``), the hparams plugin's ``SessionEndInfo``.

The file is only appended to, except that a restart cuts a record a crash left half written.
Results are encoded into a buffer per trial and written with one system call per trial when the log
writer flushes (every 2 s at most, before each state snapshot, at the end) or when 64 KiB are waiting.
"""

from __future__ import annotations

import operator
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tune_core import TuneError
from tune_core.interfaces import ERROR, TERMINATED, TRAINING_ITERATION, TrialLogger, TrialView
from tune_tensorboard import records

__all__ = ["EVENT_FILE_GLOB", "TensorBoardLogger", "event_file"]

#: The name of a trial's event file ends so, telling it from files a trainable writes there itself.
SUFFIX = ".tune"
EVENT_FILE_PREFIX = "events.out.tfevents."
EVENT_FILE_GLOB = f"{EVENT_FILE_PREFIX}*{SUFFIX}"
#: Bytes buffered per trial before they are written without waiting for the next flush.
BUFFER_SIZE = 1 << 16
#: Result layouts kept (a few per experiment as a rule); past it the cache starts over.
MAX_CACHED = 1024

_HEAD = struct.Struct("<BdB").pack
_U64 = struct.Struct("<Q")
_masked_crc = records._masked_crc
_NUMBERS = (int, float)
_frame = records.frame


def event_file(logdir: str | os.PathLike[str]) -> str | None:
    """The trial's event file in ``logdir`` (the newest, should there be several), or None."""
    try:
        names = [n for n in os.listdir(logdir) if n.startswith(EVENT_FILE_PREFIX) and n.endswith(SUFFIX)]
    except FileNotFoundError:
        return None
    return os.path.join(logdir, max(names)) if names else None


def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    return records._varint(n)


class _Layout:
    """How to encode results with one key order and one type per key: their numeric fields, in order.

    ``encode`` packs the floats between the precomputed per-tag prefixes with one ``struct`` call.
    ``fast`` is False when a value is a nested dict: such results take the general path.
    """

    __slots__ = ("encode", "fast", "tail")

    def __init__(self, fields: list[tuple[str, bytes]], fast: bool) -> None:
        self.fast = fast
        #: ``Event.summary``'s key and length: every result of the layout encodes to the same length.
        self.tail = b"\x2a" + records._varint(sum(len(head) + 4 for _, head in fields))
        self.encode: Callable[[Mapping[str, Any]], bytes]
        if not fields:
            self.encode = lambda result: b""
            return
        names = [name for name, _ in fields]
        heads = [head for _, head in fields]
        packer = struct.Struct("<" + "".join(f"{len(h)}sf" for h in heads)).pack
        template: list[Any] = [x for head in heads for x in (head, 0.0)]
        if len(names) == 1:
            key = names[0]

            def encode(result: Mapping[str, Any]) -> bytes:
                return packer(template[0], result[key])
        else:
            getter = operator.itemgetter(*names)

            def encode(result: Mapping[str, Any]) -> bytes:
                args = template.copy()
                args[1::2] = getter(result)
                return packer(*args)

        self.encode = encode


def _is_number(value: Any) -> bool:
    """int/float and numpy's numbers (``numbers.Real``), not bools: a scalar TensorBoard can plot."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return False
    return isinstance(value, _NUMBERS) or records._is_real(value)


class _TrialEvents:
    """One trial's event file: its path, the bytes waiting to be appended, the layout of its last result."""

    __slots__ = ("buf", "key", "layout", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.buf = bytearray()
        self.key: tuple[tuple[str, ...], tuple[type, ...]] | None = None
        self.layout: _Layout | None = None

    def write_out(self) -> None:
        """Append the waiting bytes to the file (created on the first write)."""
        if not self.buf:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            view = memoryview(self.buf)
            while view:
                view = view[os.write(fd, view) :]
            view.release()
        finally:
            os.close(fd)
        self.buf.clear()


class TensorBoardLogger(TrialLogger):
    """Writes each trial's results as TensorBoard scalars and its config as hparams.

    Args:
        exclude: result fields not to log as scalars, by flattened name (``"pid"``, ``"info/lr"``);
            a name also excludes what is nested under it (``"info"`` drops ``info/lr``).
        hparams: write the config for TensorBoard's HParams tab (``SessionStartInfo`` and
            ``SessionEndInfo``).
    """

    def __init__(self, exclude: Iterable[str] = (), hparams: bool = True) -> None:
        if isinstance(exclude, (str, bytes)) or not isinstance(exclude, Iterable):
            raise TuneError(
                f"TensorBoardLogger: `exclude` must be a list of result field names, got {exclude!r} "
                f"({type(exclude).__name__})"
            )
        names = list(exclude)
        bad = [name for name in names if not isinstance(name, str) or not name]
        if bad:
            raise TuneError(
                f"TensorBoardLogger: `exclude` must hold non-empty field names (strings), got {bad[0]!r}"
            )
        if not isinstance(hparams, bool):
            raise TuneError(f"TensorBoardLogger: `hparams` must be true or false, got {hparams!r}")
        self.exclude: frozenset[str] = frozenset(names)
        self.hparams = hparams
        self._trials: dict[str, _TrialEvents] = {}
        #: Trials whose directory may hold an event file already (restarted, or started before in this run).
        self._known: set[str] = set()
        self._heads: dict[str, bytes] = {}
        self._layouts: dict[tuple[tuple[str, ...], tuple[type, ...]], _Layout] = {}
        #: Trials whose run ended without an ending (paused, retried): ``(view, event file)``.
        self._unended: dict[str, tuple[TrialView, str]] = {}

    # --- the logger contract ------------------------------------------------------------------
    def on_trial_restart(self, trial: TrialView, iteration: int) -> None:
        self._close(trial.trial_id)
        self._known.add(trial.trial_id)
        path = event_file(_logdir(trial))
        if path is None:
            return
        _cut_torn_record(path)
        events = _TrialEvents(path)
        events.buf += _frame(records.session_start_log_event(time.time(), iteration + 1))
        events.write_out()

    def on_trial_start(self, trial: TrialView) -> None:
        self._close(trial.trial_id)
        self._trials[trial.trial_id] = self._open(trial)

    def on_trial_result(self, trial: TrialView, result: dict[str, Any]) -> None:
        events = self._trials.get(trial.trial_id)
        if events is None:  # No on_trial_start came (the runner always sends one): open as it would.
            self.on_trial_start(trial)
            events = self._trials[trial.trial_id]
        step: Any = result.get(TRAINING_ITERATION)
        if type(step) is not int:
            try:
                step = operator.index(step)
            except TypeError:
                return  # No whole iteration to place it at; tune-core always fills one in.
        key = (tuple(result), tuple(map(type, result.values())))
        layout = events.layout
        if events.key != key or layout is None:
            layout = self._layouts.get(key)
            if layout is None:
                if len(self._layouts) >= MAX_CACHED:  # results whose keys keep changing: start over
                    self._layouts.clear()
                    self._heads.clear()
                layout = self._layouts[key] = self._layout(result)
            events.key, events.layout = key, layout
        summary = None
        if layout.fast:
            try:
                summary = layout.encode(result)
                tail = layout.tail
            except (OverflowError, struct.error):  # beyond float32 (or a huge int): the general path
                summary = None
        if summary is None:
            summary = self._summary(result)
            tail = b"\x2a" + records._varint(len(summary))
        if not summary:
            return
        if 0 < step < 0x4000:
            # Event: wall_time (field 1), step (field 2), summary (field 5, its length in ``tail``).
            data = b"".join((_HEAD(9, time.time(), 0x10), _varint(step), tail, summary))
        else:
            data = records.scalars_event(time.time(), step, summary)
        length = _U64.pack(len(data))
        buf = events.buf
        buf += length
        buf += _masked_crc(length)
        buf += data
        buf += _masked_crc(data)
        if len(buf) >= BUFFER_SIZE:
            events.write_out()

    def on_trial_complete(self, trial: TrialView) -> None:
        events = self._trials.pop(trial.trial_id, None)
        if events is None:
            return
        if self.hparams:
            self._unended.pop(trial.trial_id, None)
            if not self._end(trial, events):
                # Paused, or to be retried: a trial stopped while paused gets no further call, so
                # close() looks at it again.
                self._unended[trial.trial_id] = (trial, events.path)
        events.write_out()

    def flush(self) -> None:
        for events in self._trials.values():
            events.write_out()

    def close(self) -> None:
        try:
            self.flush()
            for trial, path in self._unended.values():
                events = _TrialEvents(path)
                if self._end(trial, events):
                    events.write_out()
        finally:
            self._trials.clear()
            self._unended.clear()

    # --- helpers --------------------------------------------------------------------------------
    def _open(self, trial: TrialView) -> _TrialEvents:
        """The trial's event file: the one in its directory if it may have one, else a new one."""
        logdir = _logdir(trial)
        trial_id = trial.trial_id
        existing = event_file(logdir) if trial_id in self._known else None
        self._known.add(trial_id)
        if existing is not None:
            return _TrialEvents(existing)
        now = time.time()
        name = f"{EVENT_FILE_PREFIX}{int(now):010d}.{socket.gethostname()}{SUFFIX}"
        events = _TrialEvents(os.path.join(logdir, name))
        events.buf += _frame(records.file_version_event(now))
        events.buf += _frame(records.session_start_log_event(now, 0))
        if self.hparams:
            events.buf += _frame(records.session_start_event(now, records.flatten(trial.config)))
        return events

    def _end(self, trial: TrialView, events: _TrialEvents) -> bool:
        """Add the hparams plugin's ``SessionEndInfo`` if the trial has ended (status read now)."""
        status = trial.status  # A retried failure already shows PENDING or RUNNING here.
        if status not in (TERMINATED, ERROR):
            return False
        code = records.STATUS_SUCCESS if status == TERMINATED else records.STATUS_FAILURE
        events.buf += _frame(records.session_end_event(time.time(), code))
        return True

    def _close(self, trial_id: str) -> None:
        events = self._trials.pop(trial_id, None)
        if events is not None:
            events.write_out()

    def _head(self, tag: str) -> bytes:
        head = self._heads.get(tag)
        if head is None:
            head = self._heads[tag] = records.scalar_head(tag)
        return head

    def _excluded(self, name: str) -> bool:
        if not self.exclude:
            return False
        if name in self.exclude:
            return True
        parts = name.split("/")
        return any("/".join(parts[:i]) in self.exclude for i in range(1, len(parts)))

    def _layout(self, result: Mapping[str, Any]) -> _Layout:
        """The layout of results shaped like ``result`` (the same keys, the same type per key)."""
        fast = all(type(k) is str and not isinstance(v, Mapping) for k, v in result.items())
        fields = [
            (k, self._head(k)) for k, v in result.items() if _is_number(v) and not self._excluded(k)
        ] if fast else []
        return _Layout(fields, fast)

    def _summary(self, result: Mapping[str, Any]) -> bytes:
        """The general path: flatten nested dicts, keep numbers, clamp what float32 cannot hold."""
        parts = [
            self._head(name) + records.to_f32(value)
            for name, value in records.flatten(result)
            if _is_number(value) and not self._excluded(name)
        ]
        return b"".join(parts)


def _logdir(trial: TrialView) -> str:
    if trial.logdir is None:
        raise ValueError(f"trial {trial.trial_id} has no logdir")
    return os.fspath(trial.logdir)


def _cut_torn_record(path: str) -> None:
    """Cut a record a crash left half written at the end, so appending starts on a record boundary."""
    with open(path, "rb") as fh:
        blob = fh.read()
    keep = records.intact_length(blob)
    if keep != len(blob):
        os.truncate(path, keep)
