"""Event-file records, encoded by hand: TFRecord framing and the few protocol buffers the logger writes.

The messages are TensorBoard's (``Event``, ``Summary``, ``SessionLog``, the hparams plugin's
``HParamsPluginData``), with the field numbers of the ``.proto`` files tensorboardX ships. They are
encoded here rather than through the generated classes for two reasons: importing tensorboardX
loads numpy, which starts a native thread in the driver (the local executor then starts its
workers as fresh interpreters instead of forking them) and costs ~0.1-0.2 s; and building one
``Summary.Value`` object per scalar costs more than the whole result's bytes do here. The tests
check every encoder byte for byte against tensorboardX's messages and read the files back with
TensorBoard's own readers.

A scalars event is built from a per-tag prefix, computed once per tag: the ``Summary.Value``
header, its ``tag`` field and the key of ``simple_value``; only the 4-byte float changes per result.
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import google_crc32c

__all__ = [
    "STATUS_FAILURE",
    "STATUS_SUCCESS",
    "file_version_event",
    "flatten",
    "frame",
    "hparam_value",
    "intact_length",
    "scalar_head",
    "scalars_event",
    "session_end_event",
    "session_start_event",
    "session_start_log_event",
    "to_f32",
]

#: The ``file_version`` TensorBoard expects: version 2 makes its readers honour ``SessionLog.START``.
FILE_VERSION = "brain.Event:2"
PLUGIN_NAME = "hparams"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"
#: ``Status`` of the hparams plugin's ``api.proto``.
STATUS_SUCCESS = 1
STATUS_FAILURE = 2

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_MASK = 0xFFFFFFFF
_crc32c = google_crc32c.value


def _masked_crc(data: bytes) -> bytes:
    """TFRecord's masked CRC-32C (rotated right by 15 bits plus a constant), as 4 little-endian bytes."""
    crc = _crc32c(data)
    return _U32.pack((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & _MASK)


def frame(data: bytes) -> bytes:
    """One TFRecord: length, its checksum, the data, the data's checksum."""
    length = _U64.pack(len(data))
    return length + _masked_crc(length) + data + _masked_crc(data)


def intact_length(blob: bytes) -> int:
    """How many leading bytes of ``blob`` are whole records; a crash may leave the last one torn.

    Checks each record's length checksum, so a garbled length never sends the walk off the end.
    """
    pos, size = 0, len(blob)
    while pos + 12 <= size:
        length = blob[pos : pos + 8]
        if _masked_crc(length) != blob[pos + 8 : pos + 12]:
            break
        end = pos + 12 + _U64.unpack(length)[0] + 4
        if end > size:
            break
        pos = end
    return pos


# --- protocol buffer wire format ------------------------------------------------------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64: ten bytes of two's complement, as protobuf writes them
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or message)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _double(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + _F64.pack(value)


def _enum(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _event_head(wall_time: float, step: int) -> bytes:
    """``Event.wall_time`` and ``Event.step``; proto3 leaves a zero step out."""
    return _double(1, wall_time) + (_enum(2, step) if step else b"")


def to_f32(value: Any) -> bytes:
    """``value`` as ``simple_value``'s float: beyond float32's range it is +-inf, as TensorBoard shows it."""
    try:
        return _F32.pack(value)
    except (OverflowError, struct.error):
        pass
    try:
        as_float = float(value)
    except OverflowError:  # an int too large even for a double
        as_float = math.inf if value > 0 else -math.inf
    if math.isfinite(as_float):
        as_float = math.copysign(math.inf, as_float)
    return _F32.pack(as_float)


def scalar_head(tag: str) -> bytes:
    """Everything of ``Summary.value`` entry for ``tag`` before its 4-byte ``simple_value``."""
    tag_field = _field(1, tag.encode("utf-8", "surrogatepass"))
    value_len = len(tag_field) + 5  # + simple_value: key byte and 4 bytes
    return b"\x0a" + _varint(value_len) + tag_field + b"\x15"


def scalars_event(wall_time: float, step: int, summary: bytes) -> bytes:
    """An ``Event`` whose ``Summary`` is ``summary`` (concatenated ``scalar_head`` + float32 pairs)."""
    return _event_head(wall_time, step) + _field(5, summary)


def file_version_event(wall_time: float) -> bytes:
    """The first event of every event file."""
    return _double(1, wall_time) + _field(3, FILE_VERSION.encode())


def session_start_log_event(wall_time: float, step: int) -> bytes:
    """``SessionLog(status=START)`` at ``step``: TensorBoard drops what the file holds from ``step`` on."""
    return _event_head(wall_time, step) + _field(7, _enum(1, 1))


# --- hparams ----------------------------------------------------------------------------------------
def hparam_value(value: Any) -> bytes:
    """A ``google.protobuf.Value``: bool, number (int/float, NaN and inf too), or the value as text."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return _enum(4, bool(value))
    if isinstance(value, str):
        return _field(3, value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (int, float)) or _is_real(value):
        try:
            return _double(2, float(value))
        except OverflowError:
            return _double(2, math.inf if value > 0 else -math.inf)
    try:
        text = str(value)
    except Exception:  # a value whose str() raises still gets a cell
        text = f"<unprintable {type(value).__name__}>"
    return _field(3, text.encode("utf-8", "surrogatepass"))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real)


def _hparams_summary(tag: str, plugin_data: bytes) -> bytes:
    """A ``Summary`` with one value: ``tag`` and metadata naming the hparams plugin, nothing else."""
    # HParamsPluginData: version 0 is proto3's default, so only the oneof field is written.
    metadata = _field(1, _field(1, PLUGIN_NAME.encode()) + _field(2, plugin_data))
    value = _field(1, tag.encode()) + _field(9, metadata)
    return _field(1, value)


def session_start_event(wall_time: float, hparams: Iterable[tuple[str, Any]]) -> bytes:
    """An ``Event`` at step 0 with the hparams plugin's ``SessionStartInfo`` for ``hparams``."""
    entries = b"".join(
        _field(1, _field(1, name.encode("utf-8", "surrogatepass")) + _field(2, hparam_value(value)))
        for name, value in hparams
    )
    start_info = entries + _double(5, wall_time)
    summary = _hparams_summary(SESSION_START_INFO_TAG, _field(3, start_info))
    return _event_head(wall_time, 0) + _field(5, summary)


def session_end_event(wall_time: float, status: int) -> bytes:
    """An ``Event`` at step 0 with the hparams plugin's ``SessionEndInfo``: how the trial ended."""
    end_info = _enum(1, status) + _double(2, wall_time)
    summary = _hparams_summary(SESSION_END_INFO_TAG, _field(4, end_info))
    return _event_head(wall_time, 0) + _field(5, summary)


def flatten(d: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(name, value)`` pairs, nested dicts flattened with ``/`` (``info/lr``), in the dict's order.

    Flattens a result into scalar tags and a config into hparams names.
    """
    out: list[tuple[str, Any]] = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(flatten(value, name + "/"))
        else:
            out.append((name, value))
    return out
