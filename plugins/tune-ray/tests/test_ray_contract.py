"""tune-core's shared executor contract, unchanged, against ``RayExecutor`` on a real local Ray."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tune_ray.executor import RayExecutor

from tune_core.testing import ExecutorContract


class TestRayExecutorContract(ExecutorContract):
    @pytest.fixture
    def make_executor(self, ray_session: Any) -> Callable[[], RayExecutor]:
        return lambda: RayExecutor(stop_grace_s=5.0)
