"""The module the ``tune_core`` entry point names: the ``viskit`` logger and ``tune-core viskit``."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import CommandSpec, LoggerSpec, hookimpl, lazy


@hookimpl
def tune_loggers() -> Iterator[LoggerSpec]:
    # Off unless named: it writes a second CSV per trial, which only VisKit users want.
    yield LoggerSpec(
        name="viskit",
        factory=lazy("tune_viskit.logger:VisKitLogger"),
        description="rllab/VisKit layout: viskit/<trial>/variant.json and a numeric progress.csv",
        default_on=False,
    )


@hookimpl
def tune_commands() -> Iterator[CommandSpec]:
    yield CommandSpec(
        name="viskit",
        description="serve VisKit's frontend on an experiment run with the viskit logger",
        add_arguments=lazy("tune_viskit.cli:add_arguments"),
        run=lazy("tune_viskit.cli:run"),
    )
