"""Running the two kinds of trainable: a function called once, a ``Trainable`` class stepped by ``train``.

Both restore from a checkpoint first when the trial restarts, report through the session, and end
by returning (finished), by ``TrialStopped`` (stopped or paused) or by raising (failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError, describe_callable
from tune_core.runtime.session import PauseRequested, Session

if TYPE_CHECKING:
    from tune_core.runtime.host import TrialHost

__all__ = ["run_class", "run_function", "takes_reporter"]


def run_function(func: Any, session: Session, restore: str | None) -> None:
    """Call ``func`` once, continuing the session from ``restore`` (a checkpoint path) if given.

    A function that checkpoints itself is paused (and, with ``checkpoint_at_end``, ended) after it
    has checkpointed the result just reported: the session lets ``report`` return, and ends the
    run in the checkpoint call (see ``Session.report``).

    A bad checkpoint raises ``TuneError`` naming it, failing the trial before the function runs
    from a wrong start.
    """
    config = dict(session.launch.config)
    if restore:
        session.restore(restore)
    returned = func(config, session.report) if takes_reporter(func) else func(config)
    session.end_if_ending()  # Returned while pausing (or at its last result) without checkpointing.
    if isinstance(returned, Mapping):
        session.report_returned(dict(returned))
    elif returned is not None:
        raise TuneError(
            f"{describe_callable(func)} returned {returned!r} ({type(returned).__name__}); a function "
            "trainable returns None or a dict of metrics (its last result), e.g. return {'score': value}"
        )


def takes_reporter(func: Any) -> bool:
    """Whether ``func`` is the seed's ``f(config, reporter)`` rather than ``f(config)``."""
    code = getattr(func, "__code__", None)
    if code is not None and not (code.co_flags & 0x04):  # A plain function without *args.
        return code.co_argcount - (1 if hasattr(func, "__self__") else 0) >= 2
    import inspect

    return len(inspect.signature(func).parameters) >= 2


def run_class(cls: Any, session: Session, host: TrialHost, restore: str | None) -> None:
    """Step a ``Trainable`` until it is done or stopped; checkpoint by ``checkpoint_freq``, when
    the scheduler asks, at the end (``checkpoint_at_end``) and when paused."""
    launch = session.launch
    trainable = cls(
        config=dict(launch.config), logdir=session.workdir, trial_id=launch.trial_id,
        experiment_id=launch.experiment_id,
    )
    freq = launch.checkpoint_freq
    try:
        if restore:
            trainable.restore(restore)
        while True:
            result = trainable.train()
            going = session.submit(result)
            if not going:
                if host.pause_requested:
                    raise PauseRequested
                if launch.checkpoint_at_end and result.get("done"):
                    _save(trainable, session, host)
                break
            if (freq and trainable.iteration % freq == 0) or host.save_requested:
                _save(trainable, session, host)
    except PauseRequested:  # Held at a decision point, or asked while running: save where it is.
        _save(trainable, session, host)
        raise
    finally:
        trainable.stop()


def _save(trainable: Any, session: Session, host: TrialHost) -> None:
    path = trainable.save()
    host.checkpointed(session.trial_id, trainable.iteration, path)
