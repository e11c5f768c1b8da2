"""The class API for trainables: subclass ``Trainable`` and implement ``_setup``/``_train``/``_save``/``_restore``.

A function ``f(config, reporter)`` is the other kind of trainable. The trial runtime runs both
(``tune_core.runtime.drivers``); both report through the same ``AutoFiller``, and both checkpoint
through ``tune_core.checkpoints``.
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from typing import Any

from tune_core import checkpoints
from tune_core.errors import TuneError
from tune_core.result import AutoFiller

__all__ = ["Trainable", "validate_trainable"]


class Trainable:
    """Base class for a trainable with state: override ``_setup``, ``_train``, and for checkpoints
    ``_save``/``_restore``; ``_stop`` releases resources.

    ``_train`` returns a dict of metrics (``done=True`` ends the trial). ``_save(checkpoint_dir)``
    writes files into ``checkpoint_dir`` and returns a path inside it (or ``None`` for the directory
    itself), or returns a picklable dict; ``_restore`` receives that path, or the dict.
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
        """Write a checkpoint and return the directory to hand to ``restore``.

        By default it goes to ``<logdir>/checkpoint_<iteration:06d>``, written under a temporary
        name and renamed when complete; with ``checkpoint_dir`` it is written there as it is.
        """
        totals = self._filler.state()
        if checkpoint_dir is None:
            return checkpoints.write(self.logdir, self.iteration, self._save, totals)
        os.makedirs(checkpoint_dir, exist_ok=True)
        draft = checkpoints.Draft(checkpoint_dir)
        draft.take(self._save(checkpoint_dir))
        checkpoints.finish(draft, totals)
        return checkpoint_dir

    def restore(self, checkpoint_path: str) -> None:
        """Restore from a directory (or a path inside one) written by ``save``."""
        meta = checkpoints.read_metadata(checkpoint_path, "cannot restore")
        self._restore(checkpoints.load_object(meta) if meta.kind == "object" else meta.path)
        self._filler.set_state(meta.totals)
        self._filler.restart_clock()

    def save_to_object(self) -> bytes:
        """A checkpoint as bytes, so it can travel between processes and machines."""
        with tempfile.TemporaryDirectory(prefix="tune_ckpt_") as tmp:
            return checkpoints.pack(self.save(tmp))

    def restore_from_object(self, blob: bytes) -> None:
        tmp = tempfile.mkdtemp(prefix="tune_ckpt_")
        try:
            self.restore(checkpoints.unpack(blob, os.path.join(tmp, "checkpoint")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def stop(self) -> None:
        self._stop()

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> dict[str, float] | None:
        """Resources this trainable needs when the spec names none."""
        return None


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
        f"got {type(obj).__name__}, which no installed trainable adapter takes (`tune-core plugins` "
        "lists the adapters)"
    )
