"""Trainables the end-to-end tests run; a module of their own, so worker processes import them."""

from __future__ import annotations

from typing import Any

import tune_core as tune

#: The issue's sequences: (iter, score) rows; the last row completes the trial.
ROWS: dict[str, list[tuple[int, float]]] = {
    "t1": [(i, 100 * i) for i in range(10)] + [(10, 1000)],
    "t2": [(i, 450) for i in range(5)] + [(10, 1000)],
    "t3-at-1": [(0, 0), (1, 260), (2, 999), (3, 999), (10, 1000)],
    "t3-at-2": [(2, 260), (3, 999), (10, 1000)],
}


def rows(config: dict[str, Any], reporter: Any) -> None:
    """Reports ``ROWS[config["name"]]`` with ``iter`` as the time; the last row says ``done``."""
    sequence = ROWS[config["name"]]
    for index, (i, score) in enumerate(sequence):
        reporter(iter=i, score=score, done=index == len(sequence) - 1)


def climb(config: dict[str, Any], reporter: Any) -> None:
    """``score = q * iteration``, for up to 100 iterations (a scheduler stops it earlier)."""
    for i in range(1, 101):
        reporter(score=config["q"] * i)


class Climber(tune.Trainable):
    """``value`` grows by ``q`` per iteration; checkpoints it, and says when it was restored."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0
        self.restored_at: int | None = None

    def _train(self) -> dict[str, Any]:
        self.value += self.config["q"]
        return {"score": self.value, "restored_at": self.restored_at}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value, "at": self.iteration}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]
        self.restored_at = checkpoint["at"]
