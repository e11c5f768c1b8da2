"""TensorFlow helpers for code that runs inside a tune-core trial.

The Trainable adapter (a Keras model builder turned into a Trainable, with checkpoints) arrives later,
registered through the ``tune_core`` entry-point group. Until then this package offers
``visible_gpus()``, the GPUs tune-core handed this trial. TensorFlow is never imported here.
"""

from __future__ import annotations

import os

__all__ = ["visible_gpus"]


def visible_gpus() -> list[str]:
    """GPU ids in ``CUDA_VISIBLE_DEVICES``, as tune-core set them for this trial (empty when none or unset).

    TensorFlow numbers the visible GPUs from 0 (``/GPU:0`` is the first id listed here).
    """
    value = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return [part.strip() for part in value.split(",") if part.strip() and part.strip() != "-1"]
