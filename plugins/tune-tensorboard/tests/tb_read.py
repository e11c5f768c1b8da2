"""Reading a trial's event file back with TensorBoard's own readers, and the checks every run test makes.

``EventAccumulator`` (``event_accumulator``) is the reader the issue names; the plugin accumulator
(``plugin_event_accumulator``) is the one ``tensorboard --load_fast=false`` serves from. Both get a
size guidance of 0 (keep everything): their default samples 10,000 points per tag, which would hide
a duplicate. What the trial reported is read from its ``result.json``, which tune-core's own json
logger cuts back on every restart: each scalar must be there once per line, at its iteration.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

Points = list[tuple[int, float]]
#: The fields of the result at a step that result.json cannot hold as numbers (NaN, inf).
Extra = Callable[[int], Mapping[str, float]]


def accumulator(logdir: str | Path) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return acc


def scalars(logdir: str | Path) -> dict[str, Points]:
    """``{tag: [(step, value), ...]}`` as ``EventAccumulator`` serves them."""
    acc = accumulator(logdir)
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def plugin_scalars(logdir: str | Path) -> dict[str, Points]:
    """The same, as the plugin accumulator serves them (scalars become tensors there)."""
    acc = plugin_event_accumulator.EventAccumulator(
        str(logdir), size_guidance={plugin_event_accumulator.TENSORS: 0})
    acc.Reload()
    tags = acc.PluginTagToContent("scalars")
    return {tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
            for tag in tags}


def hparams(logdir: str | Path) -> tuple[Any, Any]:
    """``(SessionStartInfo, SessionEndInfo or None)`` of the run, from the hparams plugin's data."""
    content = accumulator(logdir).PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG])
    end_content = content.get(hparams_metadata.SESSION_END_INFO_TAG)
    end = hparams_metadata.parse_session_end_info_plugin_data(end_content) if end_content else None
    return start, end


def f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def expected_scalars(logdir: str | Path, extra: Extra | None = None) -> dict[str, Points]:
    """Each numeric (not bool) field of each ``result.json`` line, at its ``training_iteration``.

    The json logger writes NaN and inf as null: ``extra(step)`` gives those fields' values.
    """
    out: dict[str, Points] = {}
    for line in Path(logdir, "result.json").read_text().splitlines():
        line_result = json.loads(line)
        line_result.pop("config", None)  # spliced in by the json logger, not a field the trial reported
        result = _flatten(line_result)
        step = result["training_iteration"]
        fields = {tag: value for tag, value in result.items()
                  if isinstance(value, (int, float)) and not isinstance(value, bool)}
        fields.update(extra(step) if extra else {})
        for tag, value in fields.items():
            out.setdefault(tag, []).append((step, f32(value)))
    return out


def same_points(got: Points, want: Points) -> bool:
    if [s for s, _ in got] != [s for s, _ in want]:
        return False
    return all(g == w or (math.isnan(g) and math.isnan(w)) for (_, g), (_, w) in zip(got, want, strict=True))


def check_trial(logdir: str | Path, extra: Extra | None = None) -> int:
    """Every scalar of every result once, steps strictly increasing, in both TensorBoard readers.

    Returns the number of results checked.
    """
    want = expected_scalars(logdir, extra)
    for reader in (scalars, plugin_scalars):
        got = reader(logdir)
        assert set(got) == set(want), (reader.__name__, sorted(set(got) ^ set(want)))
        for tag, points in got.items():
            steps = [step for step, _ in points]
            assert all(a < b for a, b in itertools.pairwise(steps)), (reader.__name__, tag, steps)
            assert same_points(points, want[tag]), (reader.__name__, tag, points, want[tag])
    return len(want["training_iteration"])
