"""The hand-made encoders against tensorboardX's messages and record writer, byte for byte, and what
TensorBoard's reader makes of a file with a restart in it."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
import tb_read
from tensorboardX.proto.api_pb2 import Status
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
from tensorboardX.proto.summary_pb2 import Summary
from tensorboardX.record_writer import RecordWriter
from tensorboardX.summary import hparams
from tune_tensorboard import records

WALL = 1_700_000_000.25


def _summary(pairs: list[tuple[str, float]]) -> bytes:
    return b"".join(records.scalar_head(tag) + records.to_f32(value) for tag, value in pairs)


@pytest.mark.parametrize("step", [0, 1, 127, 128, 16_383, 16_384, 2**40, -1])
def test_scalars_event_is_tensorboardx_bytes(step: int) -> None:
    pairs = [("score", 0.5), ("info/lr", 1e-3), ("nan", math.nan), ("inf", -math.inf), ("t" * 200, 7.0),
             ("ünïcode", 3)]
    ours = records.scalars_event(WALL, step, _summary(pairs))
    theirs = Event(wall_time=WALL, step=step,
                   summary=Summary(value=[Summary.Value(tag=t, simple_value=v) for t, v in pairs]))
    assert ours == theirs.SerializeToString()


def test_values_beyond_float32_become_infinite() -> None:
    assert struct.unpack("<f", records.to_f32(1e300))[0] == math.inf
    assert struct.unpack("<f", records.to_f32(-(10**400)))[0] == -math.inf
    assert struct.unpack("<f", records.to_f32(10**400))[0] == math.inf
    assert struct.unpack("<f", records.to_f32(2**24))[0] == 2**24


def test_file_version_and_session_log_events() -> None:
    assert Event.FromString(records.file_version_event(WALL)) == Event(wall_time=WALL, file_version="brain.Event:2")
    start = Event(wall_time=WALL, step=5, session_log=SessionLog(status=SessionLog.START))
    assert records.session_start_log_event(WALL, 5) == start.SerializeToString()


def test_session_start_info_matches_tensorboardx_hparams() -> None:
    config = {"lr": 0.1, "layers": 3, "act": "relu", "bn": False}
    _, ssi, _ = hparams(config, {"score": 0})
    ours = Event.FromString(records.session_start_event(WALL, records.flatten(config)))
    assert ours.step == 0 and len(ours.summary.value) == 1
    value = ours.summary.value[0]
    (theirs,) = ssi.value
    assert value.tag == theirs.tag and value.metadata.plugin_data.plugin_name == "hparams"
    data = HParamsPluginData.FromString(value.metadata.plugin_data.content)
    reference = HParamsPluginData.FromString(theirs.metadata.plugin_data.content)
    assert data.session_start_info.start_time_secs == WALL
    data.session_start_info.ClearField("start_time_secs")
    assert data == reference


def test_session_start_info_of_other_values_is_text_and_nested_keys_flatten() -> None:
    config = {"opt": {"name": "sgd", "momentum": 0.9}, "sizes": [1, 2], "none": None, "big": 10**400}
    event = Event.FromString(records.session_start_event(WALL, records.flatten(config)))
    info = HParamsPluginData.FromString(event.summary.value[0].metadata.plugin_data.content).session_start_info
    assert info.hparams["opt/name"].string_value == "sgd"
    assert info.hparams["opt/momentum"].number_value == 0.9
    assert info.hparams["sizes"].string_value == "[1, 2]"
    assert info.hparams["none"].string_value == "None"
    assert info.hparams["big"].number_value == math.inf


def test_session_end_info() -> None:
    event = Event.FromString(records.session_end_event(WALL, records.STATUS_FAILURE))
    info = HParamsPluginData.FromString(event.summary.value[0].metadata.plugin_data.content).session_end_info
    assert info.status == Status.Value("STATUS_FAILURE") and info.end_time_secs == WALL


def test_frame_is_tensorboardx_record_writer_bytes(tmp_path: Path) -> None:
    data = [records.file_version_event(WALL), records.session_start_log_event(WALL, 3), b"", b"x" * 70_000]
    writer = RecordWriter(str(tmp_path / "ref"))
    for item in data:
        writer.write(item)
    writer.close()
    assert (tmp_path / "ref").read_bytes() == b"".join(map(records.frame, data))


def test_intact_length_stops_before_a_torn_or_garbled_record() -> None:
    blob = b"".join(records.frame(records.session_start_log_event(WALL, i)) for i in range(1, 4))
    assert records.intact_length(blob) == len(blob)
    one = len(records.frame(records.session_start_log_event(WALL, 1)))
    for cut in range(1, one):
        assert records.intact_length(blob[:-cut]) == len(blob) - one
    garbled = blob[: one] + b"\xff" * 8 + blob[one + 8 :]
    assert records.intact_length(garbled) == one


def _write(path: Path, events: list[bytes]) -> None:
    path.write_bytes(b"".join(map(records.frame, events)))


def _steps(start: int, stop: int) -> list[bytes]:
    return [records.scalars_event(WALL + i, i, _summary([("score", i)])) for i in range(start, stop)]


def test_tensorboard_drops_the_steps_a_restart_repeats(tmp_path: Path) -> None:
    """Steps 1-6 logged, a restart from the checkpoint at 3 (a START at 4), then 4-8 again: each step
    once. Without the START, the legacy reader keeps both copies of 4-6: the mechanism is what works."""
    head = [records.file_version_event(WALL), records.session_start_log_event(WALL, 0)]
    (tmp_path / "with").mkdir()
    _write(tmp_path / "with" / "events.out.tfevents.1.h.tune",
           head + _steps(1, 7) + [records.session_start_log_event(WALL, 4)] + _steps(4, 9))
    for reader in (tb_read.scalars, tb_read.plugin_scalars):
        assert reader(tmp_path / "with")["score"] == [(i, float(i)) for i in range(1, 9)]
    (tmp_path / "without").mkdir()
    _write(tmp_path / "without" / "events.out.tfevents.1.h.tune", head + _steps(1, 7) + _steps(4, 9))
    steps = [step for step, _ in tb_read.scalars(tmp_path / "without")["score"]]
    assert steps == [1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8]


def test_the_first_start_is_not_the_one_that_purges(tmp_path: Path) -> None:
    """TensorBoard's multiplexer ignores the first START of a run: the file opens with one at step 0."""
    _write(tmp_path / "events.out.tfevents.1.h.tune",
           [records.file_version_event(WALL), records.session_start_log_event(WALL, 0), *_steps(1, 4),
            records.session_start_log_event(WALL, 1), *_steps(1, 3)])
    assert tb_read.plugin_scalars(tmp_path)["score"] == [(1, 1.0), (2, 2.0)]
