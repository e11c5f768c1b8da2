"""Trainables of the tune-viskit tests, importable by the local executor's worker processes."""

from __future__ import annotations

import time
from typing import Any

import tune_core as tune


def curve(config: dict[str, Any], reporter: Any) -> None:
    """A learning curve per config, with text and nested fields beside the numbers."""
    for step in range(1, config["steps"] + 1):
        metrics: dict[str, Any] = {"loss": config["lr"] / step, "phase": "warmup" if step < 3 else "main"}
        if step >= 2:  # a metric that first appears in a later result
            metrics["info"] = {"grad_norm": 1.0 / step, "note": "text"}
        reporter(**metrics)


class FailsOnce(tune.Trainable):
    """Fails on its 4th step unless restored: with ``checkpoint_freq=2`` it restarts from iteration 2
    after reporting 3, so iteration 3 is reported twice."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.steps = 0
        self.restored = False

    def _train(self) -> dict[str, Any]:
        self.steps += 1
        if self.steps == 4 and not self.restored:
            raise RuntimeError("fails once")
        return {"score": self.steps * self.config["w"], "done": self.steps >= 6}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"steps": self.steps}

    def _restore(self, checkpoint: Any) -> None:
        self.steps = checkpoint["steps"]
        self.restored = True


class Counting(tune.Trainable):
    """Counts to 6, a little slowly, so that a run stopped at its 4th result stops mid-trial."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.steps = 0

    def _train(self) -> dict[str, Any]:
        time.sleep(0.05)
        self.steps += 1
        return {"score": self.steps * self.config["w"], "done": self.steps >= 6}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"steps": self.steps}

    def _restore(self, checkpoint: Any) -> None:
        self.steps = checkpoint["steps"]
