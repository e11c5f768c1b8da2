"""The default executor: long-lived worker processes on this machine, no server.

``executor.py`` is the driver side, ``worker.py`` the process side, ``session.py`` what a trial's
code talks to inside the worker, ``protocol.py`` the messages between them.
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
