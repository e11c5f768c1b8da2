"""Built-in executor ``local``: a pool of worker processes on this machine."""

from collections.abc import Iterator

from tune_core.plugins import ExecutorSpec, hookimpl, lazy


@hookimpl
def tune_executors() -> Iterator[ExecutorSpec]:
    yield ExecutorSpec(
        name="local",
        factory=lazy("tune_core.executors.local:LocalExecutor"),
        description="worker processes on this machine, one trial each (the default)",
    )
