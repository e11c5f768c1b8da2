"""tune-plateau: stop a trial once its metric has stopped improving. ``scheduler="plateau"``."""

from tune_plateau.scheduler import PlateauStopper

__all__ = ["PlateauStopper"]
__version__ = "1.0.0"
