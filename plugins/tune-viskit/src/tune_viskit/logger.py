"""``VisKitLogger``: each trial as one rllab/VisKit experiment, ``viskit/<trial>/{variant.json,progress.csv}``.

Rows wait in memory and are appended at each ``flush`` (the log writer calls it every 2 seconds and
before each state snapshot), so thousands of paused trials hold no open file. A metric that first
appears in a later result widens the header: the file is rewritten once, atomically, older rows getting
``nan`` (VisKit would read an empty cell as ``0.0``).
"""

from __future__ import annotations

import csv
import io
import os
from typing import TYPE_CHECKING, Any

from tune_core.interfaces import TrialLogger
from tune_core.loggers import atomic_write, cut_progress_file, drop_partial_last_line
from tune_viskit.layout import PROGRESS_FILE, VARIANT_FILE, numeric_fields, variant, viskit_dir_of

if TYPE_CHECKING:
    from tune_core.interfaces import TrialView

__all__ = ["VisKitLogger"]

_MISSING = "nan"


def _cell(value: int | float | None) -> str:
    if value is None:
        return _MISSING
    return str(value) if isinstance(value, int) else repr(float(value))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


class _TrialProgress:
    """One trial's ``progress.csv``: the header on disk and the rows not written yet."""

    __slots__ = ("header", "path", "pending")

    def __init__(self, path: str, header: list[str]) -> None:
        self.path = path
        self.header = header
        self.pending: list[dict[str, int | float]] = []

    def flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        new = {key: None for row in rows for key in row if key not in self.header}
        if new:
            self._widen(self.header + list(new))
        with open(self.path, "ab") as fh:
            fh.write(_csv([[_cell(row.get(c)) for c in self.header] for row in rows]))

    def _widen(self, header: list[str]) -> None:
        """Rewrite the file under ``header`` (its old columns first, so old rows keep their cells)."""
        old_rows: list[list[str]] = []
        if self.header and os.path.exists(self.path):
            with open(self.path, newline="", encoding="utf-8") as fh:
                old_rows = list(csv.reader(fh))[1:]
        pad = [_MISSING] * (len(header) - len(self.header))
        atomic_write(self.path, _csv([header, *(row + pad for row in old_rows)]))
        self.header = header


class VisKitLogger(TrialLogger):
    """Writes ``<experiment dir>/viskit/<trial dir name>/`` per trial: ``variant.json`` (``exp_name`` and
    the flattened config) and a numbers-only ``progress.csv``. Point VisKit at ``<experiment dir>/viskit``
    (``tune-core viskit DIR`` does)."""

    def __init__(self) -> None:
        self._trials: dict[str, _TrialProgress] = {}
        #: Trials started before in this run, or restarting: their files may hold rows already.
        self._known: set[str] = set()

    def on_trial_restart(self, trial: TrialView, iteration: int) -> None:
        self._finish(trial.trial_id)
        self._known.add(trial.trial_id)
        cut_progress_file(os.path.join(viskit_dir_of(_logdir(trial)), PROGRESS_FILE), iteration)

    def on_trial_start(self, trial: TrialView) -> None:
        self._finish(trial.trial_id)
        logdir = _logdir(trial)
        folder = viskit_dir_of(logdir)
        os.makedirs(folder, exist_ok=True)
        # Written at every start: a restart from another trial's checkpoint brings a new config.
        atomic_write(os.path.join(folder, VARIANT_FILE),
                     variant(os.path.basename(os.path.normpath(logdir)), logdir, trial.config))
        path = os.path.join(folder, PROGRESS_FILE)
        if trial.trial_id in self._known:
            drop_partial_last_line(path)  # keeps every row
            header = _header(path)
        else:
            # A first start: anything there is not this trial's (trial directory names are never
            # reused within an experiment), e.g. left by a run whose trial folders were deleted.
            if os.path.exists(path):
                os.remove(path)
            header = []
        self._known.add(trial.trial_id)
        self._trials[trial.trial_id] = _TrialProgress(path, header)

    def on_trial_result(self, trial: TrialView, result: dict[str, Any]) -> None:
        state = self._trials.get(trial.trial_id)
        if state is None:  # the runner skipped on_trial_start (it never does today): start now
            self.on_trial_start(trial)
            state = self._trials[trial.trial_id]
        state.pending.append(numeric_fields(result))

    def on_trial_complete(self, trial: TrialView) -> None:
        self._finish(trial.trial_id)

    def flush(self) -> None:
        for state in self._trials.values():
            state.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._trials.clear()

    def _finish(self, trial_id: str) -> None:
        state = self._trials.pop(trial_id, None)
        if state is not None:
            state.flush()


def _header(path: str) -> list[str]:
    """The columns of a ``progress.csv`` already there (``[]`` when there is none)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    except FileNotFoundError:
        return []


def _logdir(trial: TrialView) -> str:
    if trial.logdir is None:
        raise ValueError(f"trial {trial.trial_id} has no logdir: the viskit logger writes beside it")
    return os.fspath(trial.logdir)
