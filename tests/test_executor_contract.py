"""The executor contract (``tune_core.testing.ExecutorContract``) against every executor installed.

The built-ins (``local``, ``thread``) and any plugin's, found through the registry, plus the outside
example in ``tests/data/plugins/tune-spawn-executor``: a third party's executor written with public
imports only, whose trials share no disk with the driver.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tune_core.interfaces import Executor
from tune_core.plugins.registry import available, build
from tune_core.testing import ExecutorContract

OUTSIDE = Path(__file__).resolve().parent / "data" / "plugins" / "tune-spawn-executor" / "src"


def _outside_executor() -> Executor:
    if str(OUTSIDE) not in sys.path:
        sys.path.insert(0, str(OUTSIDE))
    from tune_spawn_executor.executor import SpawnExecutor

    return SpawnExecutor(num_cpus=2)


def _factories() -> dict[str, Callable[[], Executor]]:
    found: dict[str, Callable[[], Executor]] = {
        name: (lambda name=name: build("executor", name, num_cpus=2)) for name in available("executor")
    }
    found["outside spawn-executor"] = _outside_executor
    return found


FACTORIES = _factories()


class TestEveryExecutor(ExecutorContract):
    @pytest.fixture(params=sorted(FACTORIES))
    def make_executor(self, request: pytest.FixtureRequest) -> Callable[[], Executor]:
        return FACTORIES[request.param]


def test_the_contract_sees_every_builtin_executor() -> None:
    assert {"local", "thread", "outside spawn-executor"} <= set(FACTORIES)
