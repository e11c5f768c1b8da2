"""TensorBoard output for tune-core: the ``tensorboard`` logger (``TensorBoardLogger``).

``tensorboard --logdir ~/tune_results/my_experiment`` shows each trial as a run: a scalar per numeric
result field at ``step = training_iteration``, and the trials' configs side by side in the HParams tab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_tensorboard.logger import TensorBoardLogger, event_file

__all__ = ["TensorBoardLogger", "event_file"]


def __getattr__(name: str) -> Any:
    # Imported on first use: ``tune-core plugins`` imports the package without needing the logger.
    if name in __all__:
        from tune_tensorboard import logger

        return getattr(logger, name)
    raise AttributeError(f"module 'tune_tensorboard' has no attribute {name!r}")
