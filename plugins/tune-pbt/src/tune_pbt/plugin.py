"""The module the ``tune_core`` entry point names: registers the ``pbt`` scheduler."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, hookimpl, lazy


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="pbt",
        factory=lazy("tune_pbt.scheduler:PopulationBasedTraining"),
        description="Population Based Training: bottom trials continue from top trials' checkpoints "
                    "with perturbed hyperparameters",
    )
