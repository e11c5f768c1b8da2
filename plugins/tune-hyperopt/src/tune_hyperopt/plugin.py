"""The module the ``tune_core`` entry point names: registers the searcher and the scheduler
``hyperopt``. Both factories are lazy, so listing the plugin imports neither hyperopt nor numpy."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import SchedulerSpec, SearcherSpec, hookimpl, lazy


@hookimpl
def tune_searchers() -> Iterator[SearcherSpec]:
    yield SearcherSpec(
        name="hyperopt",
        factory=lazy("tune_hyperopt.search:HyperOptSearch"),
        description="hyperopt's TPE (tree-structured Parzen estimators), on the config's distributions or an hp space",
    )


@hookimpl
def tune_schedulers() -> Iterator[SchedulerSpec]:
    yield SchedulerSpec(
        name="hyperopt",
        factory=lazy("tune_hyperopt.scheduler:HyperOptScheduler"),
        description="the seed's HyperOptScheduler: FIFO, with TPE configs from the hp space in config['space']",
    )
