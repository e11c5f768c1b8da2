"""The class API for trainables: subclass ``Trainable`` and implement ``_setup``/``_train``/``_save``/``_restore``.

A function ``f(config, reporter)`` is the other kind of trainable; the worker runs it directly (see
``tune_core.executors.local.worker``). Both end up reporting through the same ``AutoFiller``.
"""

from __future__ import annotations

import inspect
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tune_core.errors import TuneError
from tune_core.result import AutoFiller

__all__ = ["Trainable", "check_checkpoint", "validate_trainable"]

_METADATA = ".tune_metadata"


class Trainable:
    """Base class for a trainable with state: override ``_setup``, ``_train``, and for checkpoints
    ``_save``/``_restore``; ``_stop`` releases resources.

    ``_train`` returns a dict of metrics (``done=True`` ends the trial). ``_save(checkpoint_dir)``
    writes files into ``checkpoint_dir`` and returns a path inside it, or returns a picklable dict.
    """

    def __init__(self, config: dict[str, Any] | None = None, logdir: str | None = None,
                 trial_id: str = "default", experiment_id: str = ""):
        self.config: dict[str, Any] = dict(config or {})
        self.logdir = logdir or tempfile.mkdtemp(prefix="tune_trainable_")
        self.trial_id = trial_id
        self._filler = AutoFiller(trial_id, experiment_id)
        setup = self._setup
        if _positional_arity(setup) >= 1:
            setup(self.config)
        else:
            setup()
        self._filler.restart_clock()

    # --- user hooks -------------------------------------------------------------------------
    def _setup(self, *args: Any) -> None:
        """Build models and data. May take ``config`` as an argument or read ``self.config``."""

    def _train(self) -> dict[str, Any]:
        """One iteration of training; returns its metrics."""
        raise NotImplementedError(f"{type(self).__name__} must implement _train()")

    def _save(self, checkpoint_dir: str) -> str | dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement _save(); it cannot checkpoint")

    def _restore(self, checkpoint: str | dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _restore()")

    def _stop(self) -> None:
        """Release resources; called once when the trial ends."""

    # --- public API -------------------------------------------------------------------------
    @property
    def iteration(self) -> int:
        return self._filler.iteration

    @property
    def training_iteration(self) -> int:
        return self._filler.iteration

    def train(self) -> dict[str, Any]:
        """Run one ``_train`` step and return its result with the auto fields filled in."""
        result = self._train()
        if not isinstance(result, dict):
            raise TuneError(f"{type(self).__name__}._train() must return a dict of metrics, got {type(result).__name__}")
        return self._filler.fill(dict(result))

    def save(self, checkpoint_dir: str | None = None) -> str:
        """Write a checkpoint into ``checkpoint_dir`` (a new directory under logdir by default).

        Returns the path to hand to ``restore``.
        """
        target = Path(checkpoint_dir or os.path.join(self.logdir, f"checkpoint_{self.iteration}"))
        target.mkdir(parents=True, exist_ok=True)
        saved = self._save(str(target))
        if isinstance(saved, dict):
            with open(target / "checkpoint.pkl", "wb") as f:
                pickle.dump(saved, f)
            path = str(target / "checkpoint.pkl")
            kind = "dict"
        else:
            path = str(saved) if saved else str(target)
            kind = "path"
        meta = {"kind": kind, "path": os.path.relpath(path, target), "filler": self._filler.state()}
        with open(target / _METADATA, "wb") as f:
            pickle.dump(meta, f)
        return str(target)

    def restore(self, checkpoint_path: str) -> None:
        """Restore from a directory (or a path inside one) written by ``save``."""
        directory = Path(checkpoint_path)
        if not directory.is_dir():
            directory = directory.parent
        meta_file = directory / _METADATA
        if not meta_file.exists():
            raise TuneError(f"not a tune-core checkpoint (no {_METADATA}): {checkpoint_path}")
        try:
            with open(meta_file, "rb") as f:
                meta = pickle.load(f)
        except Exception as exc:
            raise TuneError(f"corrupt checkpoint metadata in {meta_file}: {exc}") from exc
        inner = str(directory / meta["path"])
        if meta["kind"] == "dict":
            with open(inner, "rb") as f:
                self._restore(pickle.load(f))
        else:
            self._restore(inner)
        self._filler.set_state(meta["filler"])
        self._filler.restart_clock()

    def save_to_object(self) -> bytes:
        """A checkpoint as bytes, so it can travel between processes and machines."""
        with tempfile.TemporaryDirectory(prefix="tune_ckpt_") as tmp:
            self.save(tmp)
            files = {}
            for path in Path(tmp).rglob("*"):
                if path.is_file():
                    files[str(path.relative_to(tmp))] = path.read_bytes()
        return pickle.dumps({"files": files})

    def restore_from_object(self, blob: bytes) -> None:
        data = pickle.loads(blob)
        tmp = tempfile.mkdtemp(prefix="tune_ckpt_")
        try:
            for rel, content in data["files"].items():
                path = Path(tmp, rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            self.restore(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def stop(self) -> None:
        self._stop()

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> dict[str, float] | None:
        """Resources this trainable needs when the spec names none."""
        return None


def check_checkpoint(path: str, where: str = "checkpoint") -> None:
    """Raise ``TuneError`` naming ``path`` unless it is a complete, readable tune-core checkpoint."""
    directory = Path(path)
    if not directory.exists():
        raise TuneError(f"{where}: no checkpoint at {path}")
    if not directory.is_dir():
        directory = directory.parent
    meta_file = directory / _METADATA
    try:
        with open(meta_file, "rb") as f:
            meta = pickle.load(f)
        if not isinstance(meta, dict) or "filler" not in meta:
            raise ValueError("unexpected content")
    except FileNotFoundError:
        raise TuneError(f"{where}: {path} is not a tune-core checkpoint (no {_METADATA})") from None
    except Exception as exc:
        raise TuneError(f"{where}: corrupt checkpoint at {path}: {exc}") from None


def _positional_arity(func: Any) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL))


def validate_trainable(name: str, obj: Any) -> None:
    """Raise ``TuneError`` unless ``obj`` is a function or a ``Trainable`` subclass."""
    if inspect.isclass(obj):
        if issubclass(obj, Trainable):
            return
        raise TuneError(
            f"trainable {name!r} is the class {obj.__name__}, which does not subclass tune_core.Trainable; "
            "pass a function f(config, reporter) or a Trainable subclass"
        )
    if isinstance(obj, Trainable):
        raise TuneError(f"trainable {name!r} is a Trainable instance; register the class, not an instance")
    if callable(obj):
        return
    raise TuneError(
        f"trainable {name!r} must be a function f(config, reporter) or a Trainable subclass, "
        f"got {type(obj).__name__}"
    )
