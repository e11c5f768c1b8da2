"""The plugin module named by the ``tune_core`` entry point."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import ExecutorSpec, hookimpl, lazy


@hookimpl
def tune_executors() -> Iterator[ExecutorSpec]:
    yield ExecutorSpec(
        name="spawn",
        factory=lazy("tune_spawn_executor.executor:SpawnExecutor"),
        description="a fresh process per trial, sharing no disk with the driver",
    )
