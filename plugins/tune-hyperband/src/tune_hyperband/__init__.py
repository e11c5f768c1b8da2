"""tune-hyperband: HyperBand and asynchronous HyperBand (ASHA) schedulers for tune-core.

Registered by name (``scheduler="hyperband"``, ``scheduler="asha"``) through the ``tune_core``
entry point (``tune_hyperband.plugin``); the classes are importable from here.
"""

from tune_hyperband.async_hyperband import ASHAScheduler, AsyncHyperBandScheduler
from tune_hyperband.hyperband import HyperBandScheduler

__version__ = "0.1.0"

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler", "HyperBandScheduler", "__version__"]
