"""tune-pbt: Population Based Training (Jaderberg et al., 2017) for tune-core.

``PopulationBasedTraining`` is the scheduler (registered as ``pbt``); ``replay`` reads one trial's
schedule of configs back from the perturbation log, and ``PopulationBasedTrainingReplay`` reruns a
trainable following it.
"""

from __future__ import annotations

from tune_pbt.explore import explore
from tune_pbt.replay import LOG_NAME, PopulationBasedTrainingReplay, Segment, replay
from tune_pbt.scheduler import PopulationBasedTraining

__version__ = "0.1.0"

__all__ = [
    "LOG_NAME",
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "Segment",
    "__version__",
    "explore",
    "replay",
]
