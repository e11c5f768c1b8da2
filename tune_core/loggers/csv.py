"""The CSV logger: ``progress.csv`` per trial, one row per result, nested keys flattened with ``/``.

The file stays a valid CSV when a metric first appears in a later result: the header is widened by
rewriting the file once (atomically), old rows get empty cells. A restarted trial keeps the header it
finds on disk.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from tune_core.loggers._files import (
    PROGRESS_FILE,
    FileLogger,
    TrialFile,
    atomic_write,
    cut_progress_file,
    drop_partial_last_line,
    flatten,
)

if TYPE_CHECKING:
    from tune_core.interfaces import TrialView

__all__ = ["CSVLogger"]

_CONFIG = "config/"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _csv_line(values: Iterable[Any]) -> bytes:
    """One CSV row through the csv module: the general (slower) encoder."""
    values = list(values)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        writer.writerow(values)
    except Exception:  # a value whose str() raises: write what can be written
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([_cell(v) for v in values])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


class _ProgressFile(TrialFile):
    """``progress.csv`` of one trial: its header, and per column the value used when a result lacks it.

    The header is the metric columns, then the ``config/...`` columns. The config part of every row
    is encoded once per trial (``config_tail``); the metric part goes through orjson, which formats
    numbers several times faster than ``str``. A JSON array of numbers and plain strings is already a
    valid CSV row without its brackets; any other value takes the csv-module path.
    """

    __slots__ = (
        "columns",
        "config",
        "config_cells",
        "config_tail",
        "defaults",
        "fast",
        "header",
        "metric_defaults",
        "metrics",
        "stale",
    )

    def __init__(self, path: str, config: Any, fresh: bool = False) -> None:
        super().__init__(path)
        self.header: list[str] = []
        self.columns: frozenset[str] = frozenset()
        self.defaults: list[Any] = []
        self.metrics: list[str] = []
        self.metric_defaults: list[str] = []
        self.config_tail = b"\n"
        self.fast = False
        self.config: Any = None
        self.config_cells: dict[str, Any] = {}
        #: True while the header lacks a column the next row needs (none yet, or a new config key).
        self.stale = True
        if not fresh and _size(path):  # A restarted trial: keep the header already on disk.
            drop_partial_last_line(path)
            with open(path, newline="", encoding="utf-8") as fh:
                self.header = next(csv.reader(fh), [])
        self.set_config(config)

    def set_config(self, config: Any) -> None:
        self.config = config
        flat = flatten(config) if isinstance(config, Mapping) else {}
        self.config_cells = {_CONFIG + k: v for k, v in flat.items()}
        self._index()

    def _index(self) -> None:
        header, cells = self.header, self.config_cells
        self.columns = columns = frozenset(header)
        self.defaults = [cells.get(c, "") for c in header]
        self.stale = not header or not cells.keys() <= columns
        n = next((i for i, c in enumerate(header) if c.startswith(_CONFIG)), len(header))
        self.metrics = header[:n]
        self.metric_defaults = [""] * n
        # A header from an older file may interleave config and metric columns: no fast path then.
        self.fast = n > 0 and all(c.startswith(_CONFIG) for c in header[n:])
        tail = _csv_line(self.defaults[n:]) if n < len(header) else b"\n"
        self.config_tail = b"," + tail if n < len(header) else tail

    def write(self, row: Mapping[str, Any], fast: bool) -> None:
        """Append ``row`` (a result, flattened or not) under the current header."""
        fh = self.fh
        assert fh is not None
        if fast and self.fast:
            try:
                enc = orjson.dumps(
                    list(map(row.get, self.metrics, self.metric_defaults)), option=_NUMPY
                )
            except (orjson.JSONEncodeError, TypeError):
                enc = b"{"
            # null (None, NaN), escapes, nested values: not CSV as they stand.
            if not (b"\\" in enc or b"null" in enc or b"{" in enc or enc.find(b"[", 1) > 0):
                fh.write(enc[1:-1])
                fh.write(self.config_tail)
                return
        fh.write(_csv_line(map(row.get, self.header, self.defaults)))

    def widen(self, flat: Mapping[str, Any]) -> None:
        """Add the columns of ``flat`` (and of the config) that the header lacks, rewriting old rows."""
        known = self.columns
        metrics = [c for c in self.header if not c.startswith(_CONFIG)]
        configs = [c for c in self.header if c.startswith(_CONFIG)]
        metrics += [k for k in flat if k not in known and not k.startswith(_CONFIG)]
        configs += [k for k in flat if k not in known and k.startswith(_CONFIG)]
        configs += [k for k in self.config_cells if k not in known and k not in flat]
        new_header = metrics + configs
        if new_header == self.header:
            return
        self.flush()
        if self.header:  # The file already holds a header (and maybe rows): rewrite it wider.
            self._rewrite(new_header)
        else:
            assert self.fh is not None
            self.fh.write(_csv_line(new_header))
        self.header = new_header
        self._index()

    def _rewrite(self, new_header: list[str]) -> None:
        with open(self.path, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            old_header = next(rows, [])
            where = {c: i for i, c in enumerate(new_header)}
            slots = [where[c] for c in old_header]
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(new_header)
            for row in rows:
                cells = [""] * len(new_header)
                for i, value in zip(slots, row, strict=False):
                    cells[i] = value
                writer.writerow(cells)
        was_open = self.fh is not None
        self.close()
        atomic_write(self.path, out.getvalue().encode("utf-8"))
        if was_open:
            self.open()


def _size(path: str) -> int:
    """The file's size, 0 when it does not exist (one system call)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


class CSVLogger(FileLogger[_ProgressFile]):
    """Appends every result to the trial's ``progress.csv``, config included as ``config/<key>`` columns."""

    def _start(self, trial: TrialView, fresh: bool) -> _ProgressFile:
        path = os.path.join(os.fspath(trial.logdir or "."), PROGRESS_FILE)
        return _ProgressFile(path, trial.config, fresh)

    def _cut(self, trial: TrialView, iteration: int) -> None:
        cut_progress_file(os.path.join(os.fspath(trial.logdir or "."), PROGRESS_FILE), iteration)

    def on_trial_result(self, trial: TrialView, result: dict[str, Any]) -> None:
        state = self._ready(trial)
        if trial.config is not state.config:
            state.set_config(trial.config)
        if state.stale or not result.keys() <= state.columns:
            # Nested values, a new metric, or the first result: the slow path, a few times per trial.
            row = flatten(result)
            if state.stale or not row.keys() <= state.columns:
                state.widen(row)
            state.write(row, "config" not in result)
        else:
            state.write(result, True)
