"""The trial's side of every executor: run a trial, whatever runs it and however it talks to the driver.

An executor's trial side (a worker process, a Ray actor, a thread) makes one ``TrialHost`` over its
``Transport`` and calls ``host.run(launch, trainable)`` for each trial. The host runs a function or a
``Trainable`` class, fills the auto fields of each result, checks dict stop criteria, holds a result
at the scheduler's decision point until the runner answers, writes checkpoints (``tune_core.checkpoints``)
and pauses by checkpoint, and streams the ``tune_core.interfaces`` events back in batches. What the
trial calls (``tune_core.report``, ``checkpoint_dir``, ``get_pinned_object`` ...) works in every executor.

For executor authors:
    ``TrialHost``, ``Transport``: the trial side and the line it talks over.
    ``Continue``, ``Stop``, ``Pause``, ``Save``: the commands the driver side sends.
    ``pack_checkpoint``/``unpack_checkpoint``: a checkpoint directory as bytes, for executors whose
    trials do not share the driver's disk (``TrialHost(shared_storage=False)`` ships them so).
    ``pinned_objects``/``set_pin_resolver``: make pinned objects available where trials run.
    ``ship``/``unship``: a trainable (or anything) as bytes for another process, by value where
    cloudpickle would, keeping its code's file names so a trial's traceback names the user's file.
"""

from __future__ import annotations

from tune_core.checkpoints import pack as pack_checkpoint
from tune_core.checkpoints import unpack as unpack_checkpoint
from tune_core.pinning import pinned_objects, set_pin_resolver
from tune_core.runtime.host import TrialHost
from tune_core.runtime.protocol import Command, Continue, Pause, Save, Stop, Transport
from tune_core.runtime.session import PauseRequested, Session, TrialStopped, current_session
from tune_core.runtime.shipping import dumps as ship
from tune_core.runtime.shipping import loads as unship

__all__ = [
    "Command",
    "Continue",
    "Pause",
    "PauseRequested",
    "Save",
    "Session",
    "Stop",
    "Transport",
    "TrialHost",
    "TrialStopped",
    "current_session",
    "pack_checkpoint",
    "pinned_objects",
    "set_pin_resolver",
    "ship",
    "unpack_checkpoint",
    "unship",
]
