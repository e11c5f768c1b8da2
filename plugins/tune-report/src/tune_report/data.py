"""What the report shows, as plain data: the metric and mode, one row per trial, and the config axes.

No plotly here: this module turns an ``ExperimentAnalysis`` (read through its public methods only)
into the numbers and labels the figures are built from, so the choices (which keys vary, which are
numeric, which want a log scale) can be tested without drawing anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tune_core import TuneError

if TYPE_CHECKING:
    import pandas as pd

    from tune_core import ExperimentAnalysis

__all__ = [
    "AUTO_FIELDS",
    "KNOWN_MODES",
    "Axis",
    "TrialTable",
    "choose_metric",
    "choose_mode",
    "config_axes",
    "trial_table",
    "user_metrics",
]

CONFIG = "config/"
#: Result fields tune-core fills in itself: never a metric the report picks on its own.
AUTO_FIELDS = frozenset((
    "training_iteration", "time_this_iter_s", "time_total_s", "timesteps_total", "timesteps_this_iter",
    "done", "timestamp", "date", "pid", "hostname", "node_ip", "trial_id", "experiment_id",
    "iterations_since_restore", "time_since_restore", "timesteps_since_restore",
))
#: Metrics picked when none is given (first found wins), and their direction.
KNOWN_MODES = {
    "mean_accuracy": "max",
    "episode_reward_mean": "max",
    "mean_loss": "min",
    "accuracy": "max",
    "reward": "max",
    "score": "max",
    "loss": "min",
    "val_loss": "min",
    "error": "min",
}
_MODES = ("min", "max")
#: A numeric key with missing values becomes categorical up to this many distinct values.
_MAX_CATEGORIES_FOR_MISSING = 30


def user_metrics(analysis: ExperimentAnalysis) -> list[str]:
    """The numeric metrics the trials reported, without tune-core's own bookkeeping fields."""
    return [m for m in analysis.metrics if m not in AUTO_FIELDS]


def choose_metric(analysis: ExperimentAnalysis, metric: str | None) -> str:
    """``metric`` checked against what the trials reported; when None, the analysis's default, a
    well-known metric (``mean_accuracy``, ``episode_reward_mean``, ...) or the only one there is.

    Raises:
        TuneError: an unknown metric, or none given and no sensible default; the message lists the
            metrics the trials reported.
    """
    present = analysis.metrics
    choices = ", ".join(user_metrics(analysis) or present) or "(none: no trial reported a result)"
    if metric is None:
        metric = analysis.default_metric
    if metric is not None:
        if metric not in present:
            raise TuneError(f"unknown metric {metric!r} in {str(analysis.experiment_dir)!r}; "
                            f"the trials reported: {choices}")
        return metric
    found = next((m for m in KNOWN_MODES if m in present), None)
    if found is not None:
        return found
    mine = user_metrics(analysis)
    if len(mine) == 1:
        return mine[0]
    raise TuneError(f"no metric given and none of the usual ones ({', '.join(list(KNOWN_MODES)[:3])}, ...) "
                    f"was reported; pass one (--metric / metric=): {choices}")


def choose_mode(analysis: ExperimentAnalysis, metric: str, mode: str | None, *,
                required: bool = False) -> str | None:
    """``mode`` checked; when None, the analysis's default, else the known direction of ``metric``.

    Raises:
        TuneError: a mode other than ``min``/``max``; with ``required``, no mode to be found.
    """
    if mode is None:
        mode = analysis.default_mode or KNOWN_MODES.get(metric.rsplit("/", 1)[-1])
    if mode is None:
        if required:
            raise TuneError(f"no mode for metric {metric!r}: pass --mode / mode= 'max' or 'min'")
        return None
    if mode not in _MODES:
        raise TuneError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


@dataclass
class TrialTable:
    """One row per trial that reported ``metric``: its config columns (``config/...``), the metric
    (each trial's best value with a mode, else its last) and ``trial_id``; the trials left out."""

    frame: pd.DataFrame
    metric: str
    mode: str | None
    #: Trials that never reported the metric (not in ``frame``).
    missing: list[str] = field(default_factory=list)

    @property
    def config_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c.startswith(CONFIG)]

    def ranked(self) -> pd.DataFrame:
        """Best first (needs a mode); the frame's order without one."""
        if self.mode is None:
            return self.frame
        return self.frame.sort_values(self.metric, ascending=self.mode == "min", kind="stable")


def trial_table(analysis: ExperimentAnalysis, metric: str, mode: str | None) -> TrialTable:
    """The trials with ``metric``: each one's best result with ``mode``, its last result without."""
    import pandas as pd

    frame = analysis.dataframe(metric, mode) if mode else analysis.dataframe()
    if frame.empty or metric not in frame.columns:
        raise TuneError(f"no trial in {str(analysis.experiment_dir)!r} reported metric {metric!r}")
    values = pd.to_numeric(frame[metric], errors="coerce")
    keep = values.notna() & ~values.isin([math.inf, -math.inf])
    missing = [str(t) for t in frame.loc[~keep, "trial_id"]]
    frame = frame.loc[keep].assign(**{metric: values[keep]}).reset_index(drop=True)
    return TrialTable(frame=frame, metric=metric, mode=mode, missing=missing)


@dataclass
class Axis:
    """One config key as a parallel-coordinates axis.

    ``kind`` is ``numeric`` (the values as they are), ``log`` (log10 of positive values spanning
    decades; ticks at the decades) or ``categorical`` (each distinct value a position 0..k-1, with
    its text as the tick label). ``tickvals``/``ticktext`` are empty for plain numeric axes.
    """

    key: str
    kind: str
    values: list[float]
    tickvals: list[float] = field(default_factory=list)
    ticktext: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.key} (log)" if self.kind == "log" else self.key


def config_axes(table: TrialTable) -> tuple[list[Axis], dict[str, Any]]:
    """The config keys that vary across the trials, as axes (nested keys flattened as ``a/b``), and
    the keys that are the same in every trial with their value (left off the plot)."""
    axes: list[Axis] = []
    constant: dict[str, Any] = {}
    for column in table.config_columns:
        key = column[len(CONFIG):]
        raw = table.frame[column].tolist()
        labels = [_label(v) for v in raw]
        if len(set(labels)) <= 1:
            constant[key] = raw[0] if raw else None
            continue
        axes.append(_axis(key, raw, labels))
    return axes, constant


def _axis(key: str, raw: Sequence[Any], labels: Sequence[str]) -> Axis:
    numbers = [_number(v) for v in raw]
    present = [n for n in numbers if n is not None]
    has_missing = len(present) < len(numbers)
    if not present or any(n is None and not _is_missing(v) for n, v in zip(numbers, raw, strict=True)):
        return _categorical(key, raw, labels)
    if has_missing:
        if len(set(present)) <= _MAX_CATEGORIES_FOR_MISSING:
            return _categorical(key, raw, labels)
        return _numeric_with_missing(key, numbers)
    low, high = min(present), max(present)
    if low > 0 and high / low >= 100 and _crowded_low(present):
        return _log(key, present)
    return Axis(key, "numeric", present)


def _numeric_with_missing(key: str, numbers: Sequence[float | None]) -> Axis:
    """Many distinct numbers and some trials without the key: those sit just below the lowest."""
    present = [n for n in numbers if n is not None]
    low, high = min(present), max(present)
    below = low - 0.1 * ((high - low) or 1.0)
    ticks = [low + (high - low) * i / 4 for i in range(5)]
    return Axis(key, "numeric", [below if n is None else n for n in numbers],
                tickvals=[below, *ticks], ticktext=["None", *(f"{t:.4g}" for t in ticks)])


def _log(key: str, values: Sequence[float]) -> Axis:
    logs = [math.log10(v) for v in values]
    low, high = min(logs), max(logs)
    decades = [float(k) for k in range(math.ceil(low), math.floor(high) + 1)]
    tickvals = sorted({low, *decades, high})
    return Axis(key, "log", logs, tickvals=tickvals, ticktext=[f"{10 ** t:.3g}" for t in tickvals])


def _categorical(key: str, raw: Sequence[Any], labels: Sequence[str]) -> Axis:
    order: dict[str, tuple[int, Any, str]] = {}
    for value, label in zip(raw, labels, strict=True):
        order.setdefault(label, _sort_key(value, label))
    names = sorted(order, key=lambda name: order[name])
    position = {name: float(i) for i, name in enumerate(names)}
    return Axis(key, "categorical", [position[label] for label in labels],
                tickvals=[position[n] for n in names], ticktext=names)


def _crowded_low(values: Sequence[float]) -> bool:
    """A linear axis would squeeze most values against its bottom (log-uniform draws, decade grids)."""
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]
    median = ordered[len(ordered) // 2]
    return (median - low) / (high - low) < 0.2


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(value: Any) -> str:
    if _is_missing(value):
        return "None"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # pandas turns ints into floats in a column that has NaN too
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _sort_key(value: Any, label: str) -> tuple[int, Any, str]:
    """Booleans, then numbers in order, then text, then anything else, then None."""
    if isinstance(value, bool):
        return (0, int(value), label)
    number = _number(value)
    if number is not None:
        return (1, number, label)
    if isinstance(value, str):
        return (2, 0, label)
    if _is_missing(value):
        return (4, 0, label)
    return (3, 0, label)
