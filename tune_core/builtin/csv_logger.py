"""Built-in logger ``csv``: ``progress.csv``, one row per result."""

from collections.abc import Iterator

from tune_core.plugins import LoggerSpec, hookimpl, lazy


@hookimpl
def tune_loggers() -> Iterator[LoggerSpec]:
    yield LoggerSpec(
        name="csv",
        factory=lazy("tune_core.loggers.csv:CSVLogger"),
        description="progress.csv, one row per result",
        default_on=True,
    )
