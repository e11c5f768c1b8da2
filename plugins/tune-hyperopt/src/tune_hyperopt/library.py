"""The one place that imports hyperopt (and numpy), on first use.

The plugin module must import without them, so that ``tune-core plugins`` still lists
tune-hyperopt when it was installed with ``--no-deps``; using a class then says what to install.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tune_core import TuneError

__all__ = ["MISSING", "hyperopt_domain", "load_hyperopt", "load_numpy"]

MISSING = "tune-hyperopt needs the hyperopt library: pip install hyperopt"


def load_hyperopt() -> ModuleType:
    """The ``hyperopt`` package (with ``hp``, ``tpe``, ``rand`` and ``pyll`` loaded), or a one-line
    ``TuneError`` saying how to install it."""
    try:
        import hyperopt
        import hyperopt.pyll
        import hyperopt.rand
        import hyperopt.tpe
    except ImportError:
        raise TuneError(MISSING) from None  # the chained ImportError adds nothing the line does not say
    return hyperopt


def load_numpy() -> ModuleType:
    """``numpy``, which hyperopt needs too: missing, it is the same fix."""
    try:
        import numpy
    except ImportError:
        raise TuneError(MISSING) from None
    return numpy


def hyperopt_domain(expr: Any) -> Any:
    """``hyperopt.Domain`` over the space ``expr``, for ``tpe.suggest``; it has no objective to call,
    since tune-core runs the trials."""
    return load_hyperopt().Domain(_no_objective, expr)


def _no_objective(*args: Any) -> Any:
    raise AssertionError("hyperopt evaluates no objective in tune-hyperopt: tune-core runs the trials")
