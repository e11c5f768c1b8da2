"""The test kit: what plugin authors (and tune-core's own tests) test with.

Opt in from a ``conftest.py`` with ``pytest_plugins = ["tune_core.testing"]``; that brings the
fixtures of ``tune_core.plugins.testing`` (``tune_plugin_manager``, ``register_plugin``,
``recorded_events``, ``local_dir``), strict plugin loading and the test folders on ``PYTHONPATH``.
Importable from here:

``ThreadExecutor``
    runs trials on threads of the test process through the real trial runtime: runner and scheduler
    tests in milliseconds, no process to start.
``ExecutorContract``
    the behavioural test suite every executor must pass; subclass it with a ``make_executor``
    fixture (see ``tune_core.testing.executor_contract``).
``assert_plugin_conforms``
    checks a plugin module against the hook specs.
``assert_imports_only_public``
    checks that a plugin package imports only tune-core's public modules.
``SimulatedExecutor``, ``simulate``
    synthetic trials (learning curves) on a virtual clock: the real runner and a real scheduler over
    thousands of trials in seconds (``tune_core.testing.simulator``).
``check_scheduler``, ``assert_scheduler_conforms``
    run a scheduler through simulated experiments and report every rule it breaks
    (``SchedulerReport``, ``Problem``, ``RULES``); fixtures ``simulator`` and ``scheduler_check``.
"""

from __future__ import annotations

from tune_core.executors.thread import ThreadExecutor
from tune_core.plugins.testing import (
    assert_imports_only_public,
    assert_plugin_conforms,
    local_dir,
    plugins_command_line,
    recorded_events,
    register_plugin,
    tune_plugin_manager,
)
from tune_core.testing.curves import DEFAULT_SPACE, default_curve
from tune_core.testing.executor_contract import Collected, ExecutorContract, ExecutorDriver
from tune_core.testing.fixtures import scheduler_check, simulator
from tune_core.testing.report import RULES, Problem, SchedulerReport
from tune_core.testing.scheduler_check import assert_scheduler_conforms, check_scheduler
from tune_core.testing.simulation import SimulationResult, simulate
from tune_core.testing.simulator import SimulatedExecutor, SimulationStalled

__all__ = [
    "DEFAULT_SPACE",
    "RULES",
    "Collected",
    "ExecutorContract",
    "ExecutorDriver",
    "Problem",
    "SchedulerReport",
    "SimulatedExecutor",
    "SimulationResult",
    "SimulationStalled",
    "ThreadExecutor",
    "assert_imports_only_public",
    "assert_plugin_conforms",
    "assert_scheduler_conforms",
    "check_scheduler",
    "default_curve",
    "local_dir",
    "plugins_command_line",
    "recorded_events",
    "register_plugin",
    "scheduler_check",
    "simulate",
    "simulator",
    "tune_plugin_manager",
]
