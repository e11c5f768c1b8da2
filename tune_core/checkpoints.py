"""Trial checkpoints: the one place that knows their layout on disk.

A checkpoint is a directory ``checkpoint_<iteration:06d>`` in the trial's directory. It is written
under a temporary name (``.tmp_checkpoint_...``) and renamed when complete, so a half-written one is
never used. Inside, ``.tune_metadata`` records what kind of checkpoint it is (files written by the
trainable, or one pickled object in ``checkpoint.pkl``) and the auto-filled totals (iteration,
time, timesteps), so a restored trial numbers its next result where it left off.

Everything that writes, reads, validates, ships or prunes a checkpoint calls this module: the trial
runtime (class and function trainables), ``Trainable.save``/``restore``, the driver's storage, and
``restore=`` checks. ``Checkpoint`` is how one travels between a trial and the driver: a directory
the receiver can read, or its bytes when they do not share a disk (``pack``/``unpack``).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tune_core.errors import TuneError

__all__ = [
    "METADATA",
    "OBJECT_FILE",
    "TMP_PREFIX",
    "Checkpoint",
    "Draft",
    "Metadata",
    "check",
    "dir_name",
    "finish",
    "load_object",
    "pack",
    "publish",
    "rank",
    "read_metadata",
    "remove_partial",
    "retain",
    "unpack",
    "write",
    "writing",
]

#: The metadata file in every checkpoint directory.
METADATA = ".tune_metadata"
#: Where a checkpoint that is one object (``save_checkpoint(obj)``, a dict from ``_save``) keeps it.
OBJECT_FILE = "checkpoint.pkl"
#: Directories still being written; swept before a trial restarts.
TMP_PREFIX = ".tmp_checkpoint_"
_PREFIX = "checkpoint_"
_MISSING = object()


def dir_name(iteration: int) -> str:
    """``checkpoint_000012``: the directory name of the checkpoint taken at ``iteration``."""
    return f"{_PREFIX}{iteration:06d}"


class Checkpoint:
    """A complete checkpoint on its way between a trial and the driver.

    Exactly one of ``path`` (a directory the receiver can read: same machine or a shared disk) and
    ``data`` (the directory packed with ``pack``, when they share no disk) is set.

    Attributes:
        iteration: the ``training_iteration`` of the last result the checkpoint includes.
        path: the checkpoint directory.
        data: the checkpoint directory as bytes.
    """

    __slots__ = ("data", "iteration", "path")

    def __init__(self, iteration: int, path: str | None = None, data: bytes | None = None) -> None:
        if (path is None) == (data is None):
            raise ValueError("a Checkpoint holds exactly one of `path` and `data`")
        self.iteration = iteration
        self.path = path
        self.data = data

    def __reduce__(self) -> Any:  # Small and fast to pickle: it crosses a pipe or an actor call.
        return (Checkpoint, (self.iteration, self.path, self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checkpoint) and self.__reduce__() == other.__reduce__()

    def __hash__(self) -> int:
        return hash(self.__reduce__())

    def __repr__(self) -> str:
        where = self.path if self.path is not None else f"<{len(self.data or b'')} bytes>"
        return f"Checkpoint(iteration={self.iteration}, {where})"


class Metadata:
    """What ``.tune_metadata`` says about a checkpoint.

    Attributes:
        directory: the checkpoint directory.
        kind: ``"path"`` (files the trainable wrote) or ``"object"`` (one pickled object).
        path: the file or directory inside ``directory`` that the trainable's restore receives.
        totals: the auto-filled totals (``iteration``, ``time_total``, ``timesteps_total``).
    """

    __slots__ = ("directory", "kind", "path", "totals")

    def __init__(self, directory: str, kind: str, path: str, totals: dict[str, Any]) -> None:
        self.directory, self.kind, self.path, self.totals = directory, kind, path, totals

    @property
    def iteration(self) -> int:
        return int(self.totals["iteration"])


# --- writing ------------------------------------------------------------------------------------
class Draft:
    """A checkpoint being written: fill ``directory``, then say what to restore from.

    Either set ``saved`` to a path inside ``directory`` (``None``: the directory itself), or call
    ``set_object(obj)`` to store one picklable object as the checkpoint. ``final`` is set once the
    checkpoint is published.
    """

    __slots__ = ("directory", "final", "has_object", "obj", "saved")

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.saved: str | None = None
        self.obj: Any = None
        self.has_object = False
        self.final = ""

    def set_object(self, obj: Any) -> None:
        self.obj, self.has_object = obj, True

    def take(self, saved: str | dict[str, Any] | None) -> None:
        """What a ``Trainable._save`` returned: a path inside the directory, or a dict to pickle."""
        if isinstance(saved, dict):
            self.set_object(saved)
        else:
            self.saved = saved


@contextmanager
def writing(parent: str, iteration: int, totals: dict[str, Any]) -> Iterator[Draft]:
    """Write the checkpoint of ``iteration`` into ``parent``: ``with writing(...) as draft:``.

    The block fills ``draft.directory``, an empty temporary directory. Only when the block and the
    metadata are complete is the directory renamed to ``checkpoint_<iteration:06d>`` (replacing an
    earlier one of that iteration); if anything raises, it is removed and nothing is published.
    ``totals`` are the auto-filled totals the checkpoint continues from.
    """
    os.makedirs(parent, exist_ok=True)
    draft = Draft(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{iteration:06d}_", dir=parent))
    try:
        yield draft
        finish(draft, totals)
        final = os.path.join(parent, dir_name(iteration))
        publish(draft.directory, final)
    except BaseException:
        shutil.rmtree(draft.directory, ignore_errors=True)
        raise
    draft.final = final


def write(parent: str, iteration: int, fill: Callable[[str], str | dict[str, Any] | None],
          totals: dict[str, Any]) -> str:
    """``writing`` for a function that fills the directory: ``fill(directory)`` returns ``saved``.

    Returns the published directory.
    """
    with writing(parent, iteration, totals) as draft:
        draft.take(fill(draft.directory))
    return draft.final


def finish(draft: Draft, totals: dict[str, Any]) -> None:
    """Complete a checkpoint in ``draft.directory`` (no rename): its object, if any, and the metadata."""
    directory, saved = draft.directory, draft.saved
    if draft.has_object:
        _dump_object(os.path.join(directory, OBJECT_FILE), draft.obj)
        kind, inner = "dict", OBJECT_FILE  # On disk "dict", as every tune-core version wrote it.
    else:
        kind = "path"
        inner = os.path.relpath(os.path.join(directory, saved), directory) if saved else "."
        if inner.startswith(".."):
            raise TuneError(f"a checkpoint must be written inside its directory {directory}; got {saved}")
    with open(os.path.join(directory, METADATA), "wb") as f:
        pickle.dump({"kind": kind, "path": inner, "filler": dict(totals)}, f)


def _dump_object(path: str, obj: Any) -> None:
    try:
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TuneError(f"the checkpoint object cannot be pickled: {exc}") from exc


def publish(tmp: str, final: str) -> None:
    """Rename the complete ``tmp`` to ``final``, replacing an earlier checkpoint there."""
    try:
        os.rename(tmp, final)
        return
    except OSError:
        if not os.path.isdir(final):
            raise
    old = tempfile.mkdtemp(prefix=".old_checkpoint_", dir=os.path.dirname(final))
    os.replace(final, old)  # Moves over the empty ``old``; ``final`` is gone for two renames only.
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def remove_partial(trial_dir: str) -> None:
    """Remove checkpoints a killed attempt left half written (never renamed into place)."""
    try:
        names = os.listdir(trial_dir)
    except OSError:
        return
    for name in names:
        if name.startswith((TMP_PREFIX, ".old_checkpoint_")):
            shutil.rmtree(os.path.join(trial_dir, name), ignore_errors=True)


# --- reading ------------------------------------------------------------------------------------
def read_metadata(path: str, where: str = "cannot restore", _corrupt: str = "") -> Metadata:
    """The metadata of the checkpoint at ``path`` (its directory, or a path inside it).

    Raises:
        TuneError: naming ``path`` when there is no checkpoint there, or its metadata is missing or
            corrupt, or its object file is gone.
    """
    directory = path
    if not os.path.isdir(directory):
        if not os.path.exists(directory):
            raise TuneError(f"{where}: no checkpoint at {path}")
        directory = os.path.dirname(directory) or "."
    meta_file = os.path.join(directory, METADATA)
    try:
        with open(meta_file, "rb") as f:
            meta = pickle.load(f)
    except FileNotFoundError:
        inside = "" if directory == path else f" is a file, and its directory {directory}"
        raise TuneError(f"{where}: {path}{inside} is not a tune-core checkpoint (no {METADATA}); give a "
                        f"checkpoint directory ({_PREFIX}NNNNNN in a trial's directory)") from None
    except Exception as exc:
        raise TuneError(f"{where}: {_corrupt}corrupt checkpoint metadata in {meta_file}: "
                        f"{type(exc).__name__}: {exc}") from None
    if not isinstance(meta, dict):
        raise TuneError(f"{where}: {_corrupt}corrupt checkpoint metadata in {meta_file}: a "
                        f"{type(meta).__name__}, not a dict")
    try:
        kind = {"dict": "object", "object": "object", "path": "path"}[meta["kind"]]
        filler = meta["filler"]
        totals = {"iteration": int(filler["iteration"]), "time_total": float(filler["time_total"]),
                  "timesteps_total": filler["timesteps_total"]}
        inner = os.path.normpath(os.path.join(directory, meta["path"]))
    except Exception as exc:
        raise TuneError(f"{where}: {_corrupt}corrupt checkpoint metadata in {meta_file}: "
                        f"missing or bad {exc}") from None
    if kind == "object" and not os.path.isfile(inner):
        raise TuneError(f"{where}: checkpoint {path} lacks its object file {inner}")
    return Metadata(os.path.abspath(directory), kind, inner, totals)


def check(path: str, where: str = "checkpoint") -> Metadata:
    """``read_metadata`` for a path the user gave (``restore=``): ``TuneError`` naming it if unusable.

    An object checkpoint's pickle is checked for completeness here, without loading it (that needs
    the trainable's classes, and may be large): a truncated or garbled file fails now, not in a trial.
    """
    meta = read_metadata(path, where, _corrupt=f"corrupt checkpoint at {path}: ")
    if meta.kind == "object":
        problem = _pickle_problem(meta.path)
        if problem:
            raise TuneError(f"{where}: corrupt checkpoint at {path}: its object file {meta.path} {problem}")
    return meta


#: Object files up to this size are checked opcode by opcode; bigger ones by their last byte only.
_WALK_BELOW = 4 << 20


def _pickle_problem(path: str) -> str:
    """Why the file at ``path`` is no complete pickle (``""`` when it looks like one)."""
    import pickletools

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if size > _WALK_BELOW:
                f.seek(-1, os.SEEK_END)
                return "" if f.read(1) == pickle.STOP else "is not a complete pickle (truncated?)"
            for _ in pickletools.genops(f):
                pass
    except Exception as exc:
        return f"is not a complete pickle ({type(exc).__name__}: {exc})"
    return ""


def load_object(meta: Metadata) -> Any:
    """The object an ``"object"`` checkpoint holds; ``None`` for one made of files."""
    if meta.kind != "object":
        return None
    try:
        with open(meta.path, "rb") as f:
            return pickle.load(f)
    except Exception as exc:
        raise TuneError(f"could not load the checkpoint object {meta.path}: {exc}") from exc


# --- shipping -----------------------------------------------------------------------------------
def pack(directory: str) -> bytes:
    """A checkpoint directory as bytes, to send where the driver's disk is not mounted."""
    files: dict[str, bytes] = {}
    dirs: list[str] = []
    for root, subdirs, names in os.walk(directory):
        rel_root = os.path.relpath(root, directory)
        dirs += [os.path.normpath(os.path.join(rel_root, d)) for d in subdirs]
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                files[os.path.normpath(os.path.join(rel_root, name))] = f.read()
    return pickle.dumps({"files": files, "dirs": dirs}, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes, destination: str) -> str:
    """Write what ``pack`` made into ``destination`` (created; it must not exist yet); return it.

    Paths that would land outside ``destination`` are refused.
    """
    try:
        content = pickle.loads(data)
        files, dirs = content["files"], content.get("dirs", [])
    except Exception as exc:
        raise TuneError(f"received checkpoint data that cannot be read: {exc}") from None
    root = os.path.abspath(destination)
    os.makedirs(root)
    for rel in [*dirs, *files]:
        target = os.path.abspath(os.path.join(root, rel))
        if os.path.commonpath([root, target]) != root:
            raise TuneError(f"received checkpoint data with a path outside its directory: {rel!r}")
    for rel in dirs:
        os.makedirs(os.path.join(root, rel), exist_ok=True)
    for rel, blob in files.items():
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(blob)
    return root


# --- retention ----------------------------------------------------------------------------------
Kept = tuple[float, int, str]  # (rank: higher is better, iteration, path)


def retain(kept: Sequence[Kept], newest: Kept, keep: int) -> tuple[list[Kept], list[Kept]]:
    """Which checkpoints to keep after ``newest`` arrived: the best ``keep`` by rank, plus the newest.

    The newest is always kept, because a restart needs it. Returns ``(survivors, to_delete)``.
    """
    everything = [*kept, newest]
    best = sorted(everything, reverse=True)[:keep]
    survivors = best if newest in best else [*best, newest]
    return survivors, [entry for entry in everything if entry not in survivors]


def rank(score: Any, iteration: int, score_attr: str) -> float:
    """The rank of a checkpoint for ``keep_checkpoints_num``: higher is better.

    ``score_attr`` ``min-<attr>`` means lower is better; a checkpoint without a numeric score ranks
    by its iteration.
    """
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return -float(score) if score_attr.startswith("min-") else float(score)
    return float(iteration)
