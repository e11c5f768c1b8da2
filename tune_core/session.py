"""What a function trainable calls while it runs: reporting and checkpoints.

``tune_core.report(**metrics)`` reports from a function that takes only ``config`` (the seed's form,
``def f(config, reporter): reporter(**metrics)``, needs none of it). The checkpoint calls give a
function what ``_save``/``_restore`` give a ``Trainable``: a checkpoint holds the state after the
last reported iteration, and a restarted trial (``max_failures``, a resumed pause or experiment, a
``restore=`` spec key) starts from it, its next result numbered ``checkpoint_iteration + 1``.

They work in every executor: each finds the trial's session through ``tune_core.runtime``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError

if TYPE_CHECKING:
    from tune_core.runtime.session import Session

__all__ = [
    "checkpoint_dir",
    "get_checkpoint",
    "load_checkpoint",
    "report",
    "save_checkpoint",
    "should_checkpoint",
]


def _session(what: str) -> Session:
    from tune_core.runtime.session import current_session

    session = current_session()
    if session is None:
        raise TuneError(f"tune_core.{what}() was called outside a trial; call it inside a trainable run by tune-core")
    return session


def report(**metrics: Any) -> None:
    """Report one result of the trial running in this process."""
    _session("report").report(**metrics)


def checkpoint_dir() -> AbstractContextManager[str]:
    """Checkpoint the trial by writing files into a directory, after reporting an iteration.

    ``with tune_core.checkpoint_dir() as path:`` gives a fresh, empty directory in the trial's
    directory. When the block ends without error it becomes ``checkpoint_<iteration:06d>`` (the
    last reported ``training_iteration``) and the driver records it; if the block raises, it is
    removed and nothing is recorded, so a half-written checkpoint is never used.

    Raises:
        TuneError: outside a trial, or before the trial has reported a result (there is no
            iteration for the checkpoint to belong to).
    """
    session = _session("checkpoint_dir")
    session._checkpoint_iteration("checkpoint_dir")  # Checked when called, not when entered.
    return session.checkpoint_dir()


def save_checkpoint(obj: Any) -> str:
    """Checkpoint the trial as one picklable object (e.g. a dict of state); return the directory.

    The same rules as ``checkpoint_dir``; ``load_checkpoint()`` returns the object on a restart.
    """
    return _session("save_checkpoint").save_object(obj)


def get_checkpoint() -> str | None:
    """The checkpoint directory this run resumes from; ``None`` on a trial's first start.

    Read back the files written with ``checkpoint_dir`` from it.
    """
    restored = _session("get_checkpoint").restored
    return None if restored is None else restored.directory


def load_checkpoint() -> Any:
    """The object saved with ``save_checkpoint`` this run resumes from, or ``None``.

    ``None`` too on a first start, or when the checkpoint was written with ``checkpoint_dir``.
    """
    return _session("load_checkpoint").load_object()


def should_checkpoint() -> bool:
    """Whether to checkpoint the iteration just reported; call it after each report.

    True when the trial's ``checkpoint_freq`` divides the last reported iteration; when the
    scheduler asked for a checkpoint (``save_trial``; e.g. PBT at a perturbation point, before
    other trials copy this one: asked on a held result, it is that very iteration); when the trial
    is being paused there (a ``PAUSE``); and, with ``checkpoint_at_end``, after the report that ends
    the trial (a ``stop`` criterion met). In the last two cases the function ends inside its
    ``save_checkpoint``/``checkpoint_dir`` call (or at its next report, unsent, if it does not
    checkpoint), so ``if tune_core.should_checkpoint(): tune_core.save_checkpoint(state)`` after
    each report is paused exactly there, and has its final checkpoint. Lets a function do what the
    runtime does for a ``Trainable`` class.
    """
    return _session("should_checkpoint").should_checkpoint()
