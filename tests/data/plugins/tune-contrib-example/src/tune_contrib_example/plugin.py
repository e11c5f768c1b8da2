"""Registers scheduler ``example``, which tune-example-scheduler provides as well."""

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl, lazy


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(name="example", factory=lazy("tune_core.schedulers.fifo:FIFOScheduler"))
