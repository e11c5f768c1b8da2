"""The module the ``tune_core`` entry point names: registers ``hyperband`` and ``asha``."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl, lazy


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="hyperband",
        factory=lazy("tune_hyperband.hyperband:HyperBandScheduler"),
        description="synchronous HyperBand: successive halving in brackets, pausing trials at milestones",
    )
    yield SchedulerSpec(
        name="asha",
        factory=lazy("tune_hyperband.async_hyperband:AsyncHyperBandScheduler"),
        description="asynchronous HyperBand (ASHA): stop trials below the top 1/reduction_factor at each rung",
    )
