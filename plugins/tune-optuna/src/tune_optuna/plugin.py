"""The module the ``tune_core`` entry point names: registers the searcher ``optuna``.

Nothing here imports Optuna: ``tune-core plugins`` lists the searcher even where the library is
missing, and using it then says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator

from tune_core.plugins import SearcherSpec, hookimpl, lazy


@hookimpl
def tune_searchers() -> Iterator[SearcherSpec]:
    yield SearcherSpec(
        name="optuna",
        factory=lazy("tune_optuna.search:OptunaSearch"),
        description="Optuna's samplers (TPE by default; cmaes, gp, random) through its ask/tell interface",
    )
