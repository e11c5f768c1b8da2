"""``ConcurrencyLimiter``: at most ``max_concurrent`` trials of a searcher live at once.

A model-based searcher proposes better configs the more results it has seen; capping how many of
its trials run together trades parallelism for that edge (and some libraries have a limit).
"""

from __future__ import annotations

from typing import Any

from tune_core import options
from tune_core.errors import TuneError
from tune_core.interfaces import Searcher

__all__ = ["ConcurrencyLimiter"]


class ConcurrencyLimiter(Searcher):
    """Wraps ``searcher``: ``suggest`` returns ``None`` ("not now") while ``max_concurrent`` of its
    trials are live, and asks the searcher again once one completes.

    With ``batch=True`` it waits until the whole batch of ``max_concurrent`` trials has completed
    before suggesting the next batch (for searchers that learn in rounds).

    Example:
        >>> search_alg = ConcurrencyLimiter(HyperOptSearch(), max_concurrent=2)  # doctest: +SKIP
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        if not isinstance(searcher, Searcher):
            raise TuneError(f"ConcurrencyLimiter needs a tune_core.interfaces.Searcher, got {searcher!r}")
        self.searcher = searcher
        self.max_concurrent = options.integer("ConcurrencyLimiter", "max_concurrent", max_concurrent, minimum=1)
        self.batch = options.flag("ConcurrencyLimiter", "batch", batch)
        self._live: set[str] = set()
        self._batch_open = True  # batch mode: still filling the current batch

    @property
    def metric(self) -> str | None:  # type: ignore[override]
        return self.searcher.metric

    @property
    def mode(self) -> str | None:  # type: ignore[override]
        return self.searcher.mode

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any]) -> bool:
        return self.searcher.set_search_properties(metric, mode, config)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if len(self._live) >= self.max_concurrent or (self.batch and not self._batch_open):
            return None
        suggestion = self.searcher.suggest(trial_id)
        if isinstance(suggestion, dict):
            self._live.add(trial_id)
            if self.batch and len(self._live) >= self.max_concurrent:
                self._batch_open = False
        return suggestion

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        self.searcher.on_trial_complete(trial_id, result, error=error)
        self._live.discard(trial_id)
        if self.batch and not self._live:
            self._batch_open = True

    def save(self) -> dict[str, Any]:
        return {"searcher": self.searcher.save(), "live": sorted(self._live), "batch_open": self._batch_open}

    def restore(self, state: Any) -> None:
        if not isinstance(state, dict) or "searcher" not in state:
            raise TuneError(f"cannot restore ConcurrencyLimiter from {state!r}")
        self.searcher.restore(state["searcher"])
        self._live = set(state["live"])
        self._batch_open = bool(state["batch_open"])
