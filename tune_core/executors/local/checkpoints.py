"""Checkpoints of a function trainable, written and read inside the worker process.

A function has no ``_save``/``_restore`` for the worker to call, so the function itself decides when
to checkpoint (``tune_core.checkpoint_dir()`` / ``tune_core.save_checkpoint(obj)``) and asks for the
checkpoint it resumes from (``tune_core.get_checkpoint()`` / ``tune_core.load_checkpoint()``). The
directory layout and the ``.tune_metadata`` file are those ``Trainable.save`` writes, so the driver
handles both kinds of checkpoint alike and a ``restore=`` path may come from either.

Imported only when a trial checkpoints or restores: a trial that does neither pays nothing.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError

if TYPE_CHECKING:
    from tune_core.executors.local.session import Session

__all__ = ["METADATA", "OBJECT_FILE", "Restored", "restore", "save_object", "writing"]

#: The metadata file ``Trainable.save`` writes into each checkpoint directory (same format).
METADATA = ".tune_metadata"
#: Where ``save_checkpoint(obj)`` pickles ``obj``; the name ``Trainable.save`` uses for a dict.
OBJECT_FILE = "checkpoint.pkl"
_MISSING = object()


class Restored:
    """The checkpoint a restarted trial resumes from: its directory and, lazily, its object."""

    __slots__ = ("_object", "directory", "kind", "path")

    def __init__(self, directory: str, kind: str, path: str):
        self.directory = directory
        self.kind = kind
        self.path = path  # The file (``kind == "dict"``) or path (``"path"``) inside ``directory``.
        self._object: Any = _MISSING

    def load(self) -> Any:
        """The object saved with ``save_checkpoint``, unpickled once; ``None`` for a directory one."""
        if self.kind != "dict":
            return None
        if self._object is _MISSING:
            try:
                with open(self.path, "rb") as f:
                    self._object = pickle.load(f)
            except Exception as exc:
                raise TuneError(f"could not load the checkpoint object {self.path}: {exc}") from exc
        return self._object


def restore(session: Session, checkpoint_path: str) -> Restored:
    """Validate ``checkpoint_path`` and continue the session's totals from it.

    Raises ``TuneError`` naming the path when it is missing or its metadata is missing or corrupt,
    so the trial fails with that message before the function runs on a wrong start.
    """
    directory = checkpoint_path
    if not os.path.isdir(directory):
        if not os.path.exists(directory):
            raise TuneError(f"cannot restore: no checkpoint at {checkpoint_path}")
        directory = os.path.dirname(directory)  # A file inside a checkpoint, as Trainable.restore allows.
    meta_file = os.path.join(directory, METADATA)
    try:
        with open(meta_file, "rb") as f:
            meta = pickle.load(f)
    except FileNotFoundError:
        raise TuneError(f"cannot restore: {checkpoint_path} is not a tune-core checkpoint "
                        f"(no {METADATA})") from None
    except Exception as exc:
        raise TuneError(f"cannot restore: corrupt checkpoint metadata in {meta_file}: {exc}") from None
    try:
        kind, inner, filler = meta["kind"], meta["path"], meta["filler"]
        state = {"iteration": int(filler["iteration"]), "time_total": float(filler["time_total"]),
                 "timesteps_total": filler["timesteps_total"]}
    except Exception as exc:
        raise TuneError(f"cannot restore: corrupt checkpoint metadata in {meta_file}: "
                        f"missing or bad {exc}") from None
    path = os.path.normpath(os.path.join(directory, inner))
    if kind == "dict" and not os.path.isfile(path):
        raise TuneError(f"cannot restore: checkpoint {checkpoint_path} lacks its object file {path}")
    session.filler.set_state(state)
    session.filler.restart_clock()
    return Restored(os.path.abspath(directory), kind, path)


def _checkpoint_iteration(session: Session, what: str) -> int:
    iteration = session.filler.iteration
    if iteration <= 0:
        raise TuneError(
            f"tune_core.{what}() was called before the trial reported any result; a checkpoint holds "
            "the state after the last reported iteration, so report first, then checkpoint"
        )
    return iteration


@contextmanager
def _writing(session: Session, iteration: int, what: str) -> Iterator[str]:
    logdir = session.launch.logdir
    os.makedirs(logdir, exist_ok=True)
    state = session.filler.state()
    tmp = tempfile.mkdtemp(prefix=f".tmp_checkpoint_{iteration:06d}_", dir=logdir)
    try:
        yield tmp
        if session.filler.iteration != iteration:
            raise TuneError(
                f"the trial reported inside tune_core.{what}(); a checkpoint must hold the state after "
                f"one reported iteration (it began at iteration {iteration}). Report before the block"
            )
        kind, inner = ("dict", OBJECT_FILE) if what == "save_checkpoint" else ("path", ".")
        with open(os.path.join(tmp, METADATA), "wb") as f:
            pickle.dump({"kind": kind, "path": inner, "filler": state}, f)
        final = os.path.join(logdir, f"checkpoint_{iteration:06d}")
        _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    session.send_checkpoint(final, iteration)


def _publish(tmp: str, final: str) -> None:
    """Rename the complete ``tmp`` to ``final``, replacing an earlier checkpoint of that iteration."""
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


def writing(session: Session) -> AbstractContextManager[str]:
    """The context manager behind ``tune_core.checkpoint_dir()``; checks run when it is called."""
    return _writing(session, _checkpoint_iteration(session, "checkpoint_dir"), "checkpoint_dir")


def save_object(session: Session, obj: Any) -> str:
    """Pickle ``obj`` as the checkpoint of the last reported iteration; return its directory."""
    iteration = _checkpoint_iteration(session, "save_checkpoint")
    with _writing(session, iteration, "save_checkpoint") as tmp:
        try:
            with open(os.path.join(tmp, OBJECT_FILE), "wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TuneError(f"tune_core.save_checkpoint(): the object cannot be pickled: {exc}") from exc
    return os.path.join(session.launch.logdir, f"checkpoint_{iteration:06d}")
