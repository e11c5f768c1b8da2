"""Runtime contracts: what a scheduler, search algorithm, logger or executor implements, and what it sees.

Plugins implement these and register a factory through the hooks in ``tune_core.plugins``. The runner
talks to nothing else, so a third-party plugin is exactly as capable as a built-in one. Everything a
plugin needs is importable from here: trial statuses and decisions as constants, the read-only
``TrialView`` of a trial, the ``TrialRunnerView`` a scheduler acts through, the messages between the
runner and an executor, and ``Checkpoint``. The reference pages in ``docs/plugins/`` say, for each
method, when it is called and what it may return.

Import from here, not from the modules behind it: ``trials`` (statuses, decisions, views),
``components`` (scheduler, searchers, logger) and ``execution`` (executor and its messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tune_core.checkpoints import Checkpoint
from tune_core.errors import ExecutorLost
from tune_core.interfaces.components import (
    SearchAlgorithm,
    Searcher,
    Service,
    TrialLogger,
    TrialScheduler,
)
from tune_core.interfaces.execution import (
    TRIAL_ENDINGS,
    Executor,
    ExecutorEvent,
    TrialCheckpointed,
    TrialFailed,
    TrialFinished,
    TrialLaunch,
    TrialPaused,
    TrialResults,
)
from tune_core.interfaces.trials import (
    CONTINUE,
    DECISIONS,
    ERROR,
    EVERY_RESULT,
    PAUSE,
    PAUSED,
    PENDING,
    RUNNING,
    STATUSES,
    STOP,
    TERMINATED,
    DecisionPoint,
    TrialRunnerView,
    TrialView,
)
from tune_core.resources import Resources
from tune_core.result import DONE, TIME_TOTAL_S, TIMESTEPS_TOTAL, TRAINING_ITERATION

if TYPE_CHECKING:
    from tune_core.trainable import Trainable

__all__ = [
    "CONTINUE",
    "DECISIONS",
    "DONE",
    "ERROR",
    "EVERY_RESULT",
    "PAUSE",
    "PAUSED",
    "PENDING",
    "RUNNING",
    "STATUSES",
    "STOP",
    "TERMINATED",
    "TIMESTEPS_TOTAL",
    "TIME_TOTAL_S",
    "TRAINING_ITERATION",
    "TRIAL_ENDINGS",
    "Checkpoint",
    "DecisionPoint",
    "Executor",
    "ExecutorEvent",
    "ExecutorLost",
    "Resources",
    "SearchAlgorithm",
    "Searcher",
    "Service",
    "Trainable",
    "TrialCheckpointed",
    "TrialFailed",
    "TrialFinished",
    "TrialLaunch",
    "TrialLogger",
    "TrialPaused",
    "TrialResults",
    "TrialRunnerView",
    "TrialScheduler",
    "TrialView",
]


def __getattr__(name: str) -> Any:
    # ``Trainable`` is re-exported for plugin authors; loaded on first use, so a worker process (which
    # needs the message types here but maybe no Trainable) starts quickly.
    if name == "Trainable":
        from tune_core.trainable import Trainable

        return Trainable
    raise AttributeError(f"module 'tune_core.interfaces' has no attribute {name!r}")
