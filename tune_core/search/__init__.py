"""Search: turning an experiment's config into trial configs.

For users: ``grid_search``, ``sample_from`` and the distributions (``uniform``, ``loguniform``,
``randint``, ``choice``, ``randn``...) to write search spaces; ``BasicVariantGenerator`` (the default:
grid, random and conditional values), ``SearchGenerator`` (wraps a model-based ``Searcher``) and
``ConcurrencyLimiter`` (caps a searcher's live trials).
For plugin authors translating a search space: the ``Domain`` classes in ``sample``, and
``generate_variants`` / ``format_tag``. ``resolve`` is internal.
"""

from tune_core.search.basic import BasicVariantGenerator
from tune_core.search.concurrency import ConcurrencyLimiter
from tune_core.search.generator import SearchGenerator
from tune_core.search.merge import merge_over
from tune_core.search.points import validate_points
from tune_core.search.resolve import CONDITIONAL, GRID, SAMPLE, search_kind
from tune_core.search.sample import (
    choice,
    grid_search,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tune_core.search.variant_generator import format_tag, generate_variants

__all__ = [
    "CONDITIONAL",
    "GRID",
    "SAMPLE",
    "BasicVariantGenerator",
    "ConcurrencyLimiter",
    "SearchGenerator",
    "choice",
    "format_tag",
    "generate_variants",
    "grid_search",
    "lograndint",
    "loguniform",
    "merge_over",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "search_kind",
    "uniform",
    "validate_points",
]
