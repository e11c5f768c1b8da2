"""HyperOpt's TPE for tune-core: ``HyperOptSearch`` (a ``Searcher``, registered as ``hyperopt``) and
the seed's ``HyperOptScheduler`` (registered as scheduler ``hyperopt``).

The classes load on first use, so ``import tune_hyperopt`` works without the hyperopt library;
making one without it raises a ``TuneError`` saying what to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_hyperopt.scheduler import HyperOptScheduler
    from tune_hyperopt.search import HyperOptSearch

__all__ = ["HyperOptScheduler", "HyperOptSearch"]

_HOME = {"HyperOptScheduler": "tune_hyperopt.scheduler", "HyperOptSearch": "tune_hyperopt.search"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'tune_hyperopt' has no attribute {name!r}")
