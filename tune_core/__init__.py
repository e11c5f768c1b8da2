"""tune-core: hyperparameter tuning with a small core and plugins.

The public API keeps the original Ray Tune's: ``run_experiments``, ``Experiment``,
``register_trainable``, ``grid_search``, lambda/``sample_from`` conditionals, ``Trainable``,
``pin_in_object_store``/``get_pinned_object``; plus the one-call ``run``. Plugin authors start
at ``tune_core.plugins`` and ``tune_core.interfaces``.
"""

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_core.analysis import ExperimentAnalysis
    from tune_core.api import run, run_experiments
    from tune_core.errors import TuneError
    from tune_core.experiment import Experiment
    from tune_core.pinning import get_pinned_object, pin_in_object_store
    from tune_core.schedulers import FIFOScheduler, MedianStoppingRule, TrialScheduler
    from tune_core.search import (
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
    from tune_core.session import (
        checkpoint_dir,
        get_checkpoint,
        load_checkpoint,
        report,
        save_checkpoint,
        should_checkpoint,
    )
    from tune_core.trainable import Trainable
    from tune_core.trainable_registry import register_trainable

#: Where each public name lives. A driver loads them with the package; a worker process, which
#: imports this package too but needs none of them, loads each on first use only.
_PUBLIC = {
    "ExperimentAnalysis": "tune_core.analysis",
    "run": "tune_core.api",
    "run_experiments": "tune_core.api",
    "TuneError": "tune_core.errors",
    "Experiment": "tune_core.experiment",
    "get_pinned_object": "tune_core.pinning",
    "pin_in_object_store": "tune_core.pinning",
    "register_trainable": "tune_core.trainable_registry",
    "FIFOScheduler": "tune_core.schedulers",
    "MedianStoppingRule": "tune_core.schedulers",
    "TrialScheduler": "tune_core.schedulers",
    **{
        name: "tune_core.session"
        for name in ("checkpoint_dir", "get_checkpoint", "load_checkpoint", "report", "save_checkpoint",
                     "should_checkpoint")
    },
    "Trainable": "tune_core.trainable",
    **{
        name: "tune_core.search"
        for name in ("choice", "grid_search", "lograndint", "loguniform", "qloguniform", "qrandint",
                     "qrandn", "quniform", "randint", "randn", "sample_from", "uniform")
    },
}

__version__ = "0.1.0"

__all__ = [
    "Experiment",
    "ExperimentAnalysis",
    "FIFOScheduler",
    "MedianStoppingRule",
    "Trainable",
    "TrialScheduler",
    "TuneError",
    "__version__",
    "checkpoint_dir",
    "choice",
    "get_checkpoint",
    "get_pinned_object",
    "grid_search",
    "load_checkpoint",
    "lograndint",
    "loguniform",
    "pin_in_object_store",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "register_trainable",
    "report",
    "run",
    "run_experiments",
    "sample_from",
    "save_checkpoint",
    "should_checkpoint",
    "uniform",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tune_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if not os.environ.get("TUNE_CORE_WORKER"):
    for _name, _module in _PUBLIC.items():
        if _module != "tune_core.analysis":  # pandas: loaded when analysis is asked for
            globals()[_name] = getattr(importlib.import_module(_module), _name)
    importlib.import_module("tune_core.plugins.registry")  # what a run resolves names with
