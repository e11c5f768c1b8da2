"""File helpers shared by the built-in loggers and ``ExperimentAnalysis``.

Atomic whole-file writes, JSON encoding that never fails on a metric value, nested-dict flattening,
repair of a half-written last line, and cutting a trial's files back to an iteration (each logger
does its own, on ``on_trial_restart``). Nothing here keeps state; the loggers own their open files.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from tune_core.interfaces import TrialLogger

if TYPE_CHECKING:
    from tune_core.interfaces import TrialView

__all__ = [
    "BUFFER_SIZE",
    "JSON_OPTIONS",
    "FileLogger",
    "TrialFile",
    "atomic_write",
    "cut_progress_file",
    "cut_result_file",
    "drop_partial_last_line",
    "dumps",
    "flatten",
    "write_file",
]

#: Options for every JSON line: numpy values as numbers, int/float dict keys as strings.
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

#: Separator of flattened keys (``config/lr``, ``info/loss``).
SEP = "/"

RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"

#: Write buffer per open file: ~150 results between system calls, small enough for hundreds of trials.
BUFFER_SIZE = 1 << 16


def _default(obj: Any) -> Any:
    """orjson's fallback: numpy/torch-like values through ``tolist``, sets as lists, the rest as text."""
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        try:
            return tolist()
        except Exception:  # a broken tolist must not lose the whole line
            pass
    try:
        return str(obj)
    except Exception:
        return f"<unprintable {type(obj).__name__}>"


def _sanitize(obj: Any, depth: int = 0) -> Any:
    """Slow path: rebuild ``obj`` from JSON-safe pieces (keys orjson refuses, huge ints, cycles)."""
    if depth > 64:
        return str(obj)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _sanitize(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_sanitize(v, depth + 1) for v in obj]
    converted = _default(obj)
    return converted if isinstance(converted, str) else _sanitize(converted, depth + 1)


def dumps(obj: Any, option: int = JSON_OPTIONS) -> bytes:
    """Encode ``obj`` as JSON; NaN/inf become null and anything unknown becomes text; never raises."""
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return orjson.dumps(_sanitize(obj), default=str, option=option)


def write_file(path: str | os.PathLike[str], data: bytes, exclusive: bool = False) -> None:
    """Create or overwrite ``path`` with ``data``; os-level calls, as a trial start writes several files.

    With ``exclusive``, raise ``FileExistsError`` rather than overwrite.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of one."""
    path = os.fspath(path)
    head, tail = os.path.split(path)
    tmp = os.path.join(head, f".{tail}.{os.getpid()}.tmp")
    write_file(tmp, data)
    os.replace(tmp, path)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``; an empty nested dict disappears."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + SEP))
        else:
            out[name] = value
    return out


def drop_partial_last_line(path: str | os.PathLike[str]) -> None:
    """Cut a last line that a crash left without its newline, so appending starts on a fresh line."""
    try:
        if not os.stat(path).st_size:
            return
        with open(path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            # Walk back in blocks to the last newline; files are append-only so it is near the end.
            pos = size
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                fh.seek(pos)
                cut = fh.read(step).rfind(b"\n")
                if cut >= 0:
                    fh.truncate(pos + cut + 1)
                    return
            fh.truncate(0)
    except FileNotFoundError:
        return


def _iteration_of_json(line: bytes) -> float | None:
    try:
        value = orjson.loads(line).get("training_iteration")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _iteration_of_row(row: list[str], col: int) -> float | None:
    try:
        return float(row[col])
    except (IndexError, ValueError):
        return None


def _tail_start(iterations: list[float | None], iteration: int) -> int:
    """Where the tail to drop starts: the results at the end past ``iteration`` (or unreadable).

    Only the end of a log is cut: it holds what the trial reported after the checkpoint it now
    restarts from. Earlier lines stay, even with higher iterations (a trial that continued from
    another trial's checkpoint logged those before).
    """
    keep = len(iterations)
    while keep > 0:
        value = iterations[keep - 1]
        if value is not None and value <= iteration:
            break
        keep -= 1
    return keep


def cut_result_file(path: str | os.PathLike[str], iteration: int) -> None:
    """Cut ``result.json`` back to ``iteration``: drop the lines at its end reported after it.

    Half-written lines go too. Call it while the file is not open for appending.
    """
    try:
        with open(path, "rb") as fh:
            lines = fh.read().splitlines(keepends=True)
    except FileNotFoundError:
        return
    complete = [line for line in lines if line.endswith(b"\n")]
    keep = _tail_start([_iteration_of_json(line) for line in complete], iteration)
    if keep != len(lines):
        atomic_write(path, b"".join(complete[:keep]))


def cut_progress_file(path: str | os.PathLike[str], iteration: int) -> None:
    """Cut ``progress.csv`` back to ``iteration`` as ``cut_result_file`` does ``result.json``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    col = header.index("training_iteration") if "training_iteration" in header else -1
    keep = len(body) if col < 0 else _tail_start([_iteration_of_row(r, col) for r in body], iteration)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body[:keep])
    atomic_write(path, out.getvalue().encode("utf-8"))


class AppendBuffer:
    """Bytes bound for the end of one file: buffered in memory, written with plain system calls.

    The file is opened only when there is something to write (a trial that ends before the next
    flush costs one open, one write and one close), and ``O_APPEND`` keeps every write at the end.
    """

    __slots__ = ("buf", "fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.buf = bytearray()
        self.fd = -1

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= BUFFER_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        if self.fd < 0:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        view = memoryview(self.buf)
        while view:
            view = view[os.write(self.fd, view):]
        view.release()
        self.buf.clear()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


class TrialFile:
    """One trial's append-only output file, opened lazily; closing it loses nothing."""

    __slots__ = ("fh", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fh: AppendBuffer | None = None

    def open(self) -> None:
        """Get ready to append to ``path``."""
        self.fh = AppendBuffer(self.path)

    def flush(self) -> None:
        if self.fh is not None:
            self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


F = TypeVar("F", bound=TrialFile)


class FileLogger(TrialLogger, Generic[F]):
    """Keeps one ``TrialFile`` per trial and at most ``max_open_files`` of them open at once.

    Thousands of paused trials must not run the driver out of file descriptors: the file opened
    longest ago is closed (after flushing) and reopened in append mode when its trial reports again.
    A trial's first start in a run finds a new directory unless ``on_trial_restart`` came first (or
    the trial started before in this run), so a new trial costs no look at what is on disk.
    """

    max_open_files: int = 256

    def __init__(self) -> None:
        self._files: dict[str, F] = {}
        self._open: OrderedDict[str, F] = OrderedDict()
        #: Trials started before in this run, or restarting: their files may exist already.
        self._known: set[str] = set()

    def _start(self, trial: TrialView, fresh: bool) -> F:
        """Create the trial's file state (first start or restart); the subclass writes headers etc."""
        raise NotImplementedError

    def _cut(self, trial: TrialView, iteration: int) -> None:
        """Cut the trial's file back to ``iteration`` (its results after it will come again)."""
        raise NotImplementedError

    def on_trial_restart(self, trial: TrialView, iteration: int) -> None:
        self._close(trial.trial_id)
        self._known.add(trial.trial_id)
        self._cut(trial, iteration)

    def on_trial_start(self, trial: TrialView) -> None:
        trial_id = trial.trial_id
        if trial_id in self._files:
            self._close(trial_id)
        fresh = trial_id not in self._known
        self._known.add(trial_id)
        self._files[trial_id] = self._start(trial, fresh)

    def _close(self, trial_id: str) -> None:
        old = self._files.pop(trial_id, None)
        if old is not None:
            self._open.pop(trial_id, None)
            old.close()

    def _ready(self, trial: TrialView) -> F:
        """The trial's file, opened (and started, if the runner skipped ``on_trial_start``)."""
        state = self._files.get(trial.trial_id)
        if state is None:
            if trial.logdir is None:
                raise ValueError(f"trial {trial.trial_id} has no logdir; call on_trial_start first")
            self._known.add(trial.trial_id)
            self._files[trial.trial_id] = state = self._start(trial, False)
        if state.fh is None:
            state.open()
            self._open[trial.trial_id] = state
            while len(self._open) > self.max_open_files:
                self._open.popitem(last=False)[1].close()
        return state

    def on_trial_complete(self, trial: TrialView) -> None:
        self._close(trial.trial_id)

    def flush(self) -> None:
        for state in self._open.values():
            state.flush()

    def close(self) -> None:
        for state in self._files.values():
            state.close()
        self._files.clear()
        self._open.clear()
