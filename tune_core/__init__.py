"""tune-core: hyperparameter tuning with a small core and plugins.

The public API mirrors the original Ray Tune: ``run_experiments``, ``Experiment``,
``register_trainable``, ``grid_search``, ``Trainable``; plus the one-call ``run``.
"""

from tune_core.errors import TuneError
from tune_core.experiment import Experiment
from tune_core.registry import register_trainable
from tune_core.trainable import Trainable

__version__ = "0.1.0"

__all__ = ["Experiment", "Trainable", "TuneError", "__version__", "register_trainable"]
