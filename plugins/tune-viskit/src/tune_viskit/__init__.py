"""tune-viskit: experiments in the layout rllab's VisKit reads, and ``tune-core viskit DIR`` to serve it.

The ``viskit`` logger (``loggers=["json", "csv", "viskit"]``) writes ``<experiment dir>/viskit/<trial>/``
with ``variant.json`` and a numeric ``progress.csv``; ``tune-core viskit DIR`` runs VisKit's own frontend
on them (install VisKit with ``python -m tune_viskit.install``).
"""

from tune_viskit.logger import VisKitLogger

__version__ = "0.1.0"

__all__ = ["VisKitLogger", "__version__"]
