"""Built-in trial schedulers. HyperBand, ASHA and PBT come as plugins."""

from tune_core.interfaces import TrialScheduler
from tune_core.schedulers.fifo import FIFOScheduler
from tune_core.schedulers.median_stopping import MedianStoppingRule

__all__ = ["FIFOScheduler", "MedianStoppingRule", "TrialScheduler"]
