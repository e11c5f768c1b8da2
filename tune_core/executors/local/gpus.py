"""Which GPUs of this machine each trial gets: whole GPUs, or a share of one (``gpu: 0.5``)."""

from __future__ import annotations

import os

__all__ = ["GpuPool"]

_EPS = 1e-9


class GpuPool:
    """Free capacity per GPU; a share below 1 goes to the fullest GPU it still fits on."""

    def __init__(self, count: int):
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = [d.strip() for d in visible.split(",") if d.strip()] if visible else []
        self.ids = ids[:count] if len(ids) >= count else [str(i) for i in range(count)]
        self.free = [1.0] * count
        self.assigned: dict[str, list[tuple[int, float]]] = {}

    def _pick(self, amount: float) -> list[tuple[int, float]] | None:
        if amount <= 0:
            return []
        if amount >= 1:
            whole = [i for i, f in enumerate(self.free) if f >= 1 - _EPS]
            return [(i, 1.0) for i in whole[: int(amount)]] if len(whole) >= amount else None
        fits = [i for i, f in enumerate(self.free) if f >= amount - _EPS]
        return [(min(fits, key=lambda i: self.free[i]), amount)] if fits else None

    def can_assign(self, amount: float) -> bool:
        return self._pick(amount) is not None

    def assign(self, trial_id: str, amount: float) -> list[str]:
        picked = self._pick(amount)
        if picked is None:
            raise RuntimeError(f"no GPU capacity for {amount} GPUs")  # The runner checks fits() first.
        for index, share in picked:
            self.free[index] -= share
        self.assigned[trial_id] = picked
        return [self.ids[i] for i, _ in picked]

    def release(self, trial_id: str) -> None:
        for index, share in self.assigned.pop(trial_id, []):
            self.free[index] = min(1.0, self.free[index] + share)
