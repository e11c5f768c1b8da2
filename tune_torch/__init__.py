"""PyTorch helpers for code that runs inside a tune-core trial.

For now this holds ``trial_device()``: the device a trial should put its model on, given the GPU share
tune-core handed it through ``CUDA_VISIBLE_DEVICES``. The Trainable adapter (a ``TorchTrainable`` whose
model, optimizer and checkpoints tune-core manages) arrives later, registered through the ``tune_core``
entry-point group. torch is imported inside the functions, so importing this package stays cheap and
works without torch installed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["trial_device", "visible_gpu_ids"]


def visible_gpu_ids() -> list[str]:
    """GPU ids in ``CUDA_VISIBLE_DEVICES``: what tune-core gave this trial (empty when none or unset)."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return [part.strip() for part in value.split(",") if part.strip() and part.strip() != "-1"]


def trial_device() -> torch.device:
    """``cuda:0`` when this trial was given a GPU and CUDA works, else ``cpu``.

    tune-core narrows ``CUDA_VISIBLE_DEVICES`` to the trial's GPU, so the first visible device is always
    the trial's own; a trial that asked for no GPU gets the CPU even on a GPU machine.
    """
    import torch

    if visible_gpu_ids() and torch.cuda.is_available():
        return torch.device("cuda:0")
    return torch.device("cpu")
