"""tune-optuna: Optuna's samplers as a tune-core searcher (``search_alg="optuna"`` or ``OptunaSearch``).

Importing this package does not import Optuna; building an ``OptunaSearch`` does, and says what to
install when it is missing.
"""

from tune_optuna.search import OptunaSearch

__all__ = ["OptunaSearch"]
