"""The module the ``tune_core`` entry point names: registers the ``tensorboard`` logger, on by default."""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import LoggerSpec, hookimpl, lazy


@hookimpl
def tune_loggers() -> Iterator[LoggerSpec]:
    yield LoggerSpec(
        name="tensorboard",
        factory=lazy("tune_tensorboard.logger:TensorBoardLogger"),
        description="a TensorBoard event file per trial: scalars per result, the config as hparams",
        default_on=True,
    )
