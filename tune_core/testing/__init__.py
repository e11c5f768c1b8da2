"""The test kit: what plugin authors (and tune-core's own tests) test with.

Opt in from a ``conftest.py`` with ``pytest_plugins = ["tune_core.testing"]``; that brings the
fixtures of ``tune_core.plugins.testing`` (``tune_plugin_manager``, ``register_plugin``,
``recorded_events``). Importable from here:

``ThreadExecutor``
    runs trials on threads of the test process through the real trial runtime: runner and scheduler
    tests in milliseconds, no process to start.
``ExecutorContract``
    the behavioural test suite every executor must pass; subclass it with a ``make_executor``
    fixture (see ``tune_core.testing.executor_contract``).
``assert_plugin_conforms``
    checks a plugin module against the hook specs.
"""

from __future__ import annotations

from tune_core.executors.thread import ThreadExecutor
from tune_core.plugins.testing import (
    assert_plugin_conforms,
    recorded_events,
    register_plugin,
    tune_plugin_manager,
)
from tune_core.testing.executor_contract import Collected, ExecutorContract, ExecutorDriver

__all__ = [
    "Collected",
    "ExecutorContract",
    "ExecutorDriver",
    "ThreadExecutor",
    "assert_plugin_conforms",
    "recorded_events",
    "register_plugin",
    "tune_plugin_manager",
]
