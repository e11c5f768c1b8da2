"""Built-in executor ``thread``: trials on threads of the driver process (debugging, fast tests)."""

from collections.abc import Iterator

from tune_core.plugins import ExecutorSpec, hookimpl, lazy


@hookimpl
def tune_executors() -> Iterator[ExecutorSpec]:
    yield ExecutorSpec(
        name="thread",
        factory=lazy("tune_core.executors.thread:ThreadExecutor"),
        description="threads of the driver process, no isolation (debugging, fast tests)",
    )
