"""The default executor: long-lived worker processes on this machine, no server.

``executor.py`` is the driver side, ``worker.py`` the process side (which runs each trial through
``tune_core.runtime`` over ``pipes.py``), ``protocol.py`` the executor's own messages, ``shm.py`` pinned
objects in shared memory, ``output.py`` a trial's captured stdout/stderr, ``gpus.py`` GPU placement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_core.executors.local.executor import LocalExecutor

__all__ = ["LocalExecutor"]


def __getattr__(name: str) -> Any:
    # The worker process imports this package too; it never needs the driver side.
    if name == "LocalExecutor":
        from tune_core.executors.local.executor import LocalExecutor

        return LocalExecutor
    raise AttributeError(name)
