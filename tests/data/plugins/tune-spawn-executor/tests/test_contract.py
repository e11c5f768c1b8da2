"""tune-spawn-executor passes tune-core's executor contract, as any executor must."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tune_spawn_executor import plugin
from tune_spawn_executor.executor import SpawnExecutor

from tune_core.testing import ExecutorContract, assert_plugin_conforms


class TestSpawnExecutor(ExecutorContract):
    @pytest.fixture
    def make_executor(self) -> Callable[[], SpawnExecutor]:
        return lambda: SpawnExecutor(num_cpus=2)


def test_plugin_conforms() -> None:
    assert_plugin_conforms(plugin)
