"""Built-in scheduler ``fifo``: run trials in the order they come, never pause or stop early."""

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl, lazy


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="fifo",
        factory=lazy("tune_core.schedulers.fifo:FIFOScheduler"),
        description="first in, first out; every trial runs to its stop criterion (the default)",
    )
