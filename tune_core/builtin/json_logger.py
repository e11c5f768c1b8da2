"""Built-in logger ``json``: ``params.json`` and ``result.json`` (one JSON object per result)."""

from collections.abc import Iterator

from tune_core.plugins import LoggerSpec, hookimpl, lazy


@hookimpl
def tune_loggers() -> Iterator[LoggerSpec]:
    yield LoggerSpec(
        name="json",
        factory=lazy("tune_core.loggers.json:JsonLogger"),
        description="params.json and result.json, one JSON object per result",
        default_on=True,
    )
