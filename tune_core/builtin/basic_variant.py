"""Built-in searcher ``basic``: grid search, random distributions and conditional variants."""

from collections.abc import Iterator

from tune_core.plugins import SearcherSpec, hookimpl, lazy


@hookimpl
def tune_searchers() -> Iterator[SearcherSpec]:
    yield SearcherSpec(
        name="basic",
        factory=lazy("tune_core.search.basic:BasicVariantGenerator"),
        description="grid search, random sampling and lambda/sample_from conditionals (the default)",
    )
