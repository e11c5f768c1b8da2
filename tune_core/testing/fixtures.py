"""The simulator's pytest fixtures: ``simulator`` and ``scheduler_check``.

``pytest_plugins = ["tune_core.testing"]`` brings them, with the plugin fixtures of
``tune_core.plugins.testing``. Both run in the test's own temporary directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tune_core.testing.report import SchedulerReport
from tune_core.testing.scheduler_check import assert_scheduler_conforms
from tune_core.testing.simulation import SimulationResult, simulate

__all__ = ["scheduler_check", "simulator"]


@pytest.fixture
def simulator(tmp_path: Path) -> Callable[..., SimulationResult]:
    """``simulator(scheduler, **kwargs)``: ``simulate`` with trial directories under ``tmp_path``."""

    def run(scheduler: Any = None, **kwargs: Any) -> SimulationResult:
        kwargs.setdefault("local_dir", str(tmp_path / "simulated"))
        return simulate(scheduler, **kwargs)

    return run


@pytest.fixture
def scheduler_check(tmp_path: Path) -> Callable[..., SchedulerReport]:
    """``scheduler_check(factory, **kwargs)``: ``assert_scheduler_conforms`` under ``tmp_path``;
    fails the test listing every rule broken, else returns the report."""

    def check(factory: Any, **kwargs: Any) -> SchedulerReport:
        kwargs.setdefault("local_dir", str(tmp_path / "checked"))
        return assert_scheduler_conforms(factory, **kwargs)

    return check
