"""Built-in scheduler ``median-stopping``: stop trials doing worse than the median of the others."""

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl, lazy


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="median-stopping",
        factory=lazy("tune_core.schedulers.median_stopping:MedianStoppingRule"),
        description="stop a trial whose best result is below the median of the others at the same time",
    )
