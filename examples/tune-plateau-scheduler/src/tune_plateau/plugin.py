"""The module the ``tune_core`` entry point names: it registers the scheduler under ``plateau``."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl
from tune_plateau.scheduler import PlateauStopper


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="plateau",
        factory=PlateauStopper,
        description="stop a trial after `patience` results without improvement",
    )
