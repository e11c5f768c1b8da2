"""Trainables the executor contract runs; a module of their own so worker processes import them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import tune_core
from tune_core.trainable import Trainable

__all__ = ["Counter", "count", "count_forever", "fails", "reports_with_api", "saves_objects", "uses_pinned"]


def count(config: dict[str, Any], reporter: Any) -> None:
    """Reports ``i`` = 1..``n``, each with the config's ``run`` mark, after ``sleep`` seconds each."""
    for i in range(1, config.get("n", 5) + 1):
        if config.get("sleep"):
            time.sleep(config["sleep"])
        reporter(i=i, run=config.get("run", 0))


def count_forever(config: dict[str, Any], reporter: Any) -> None:
    """Reports until stopped, every 10 ms."""
    i = 0
    while True:
        i += 1
        time.sleep(0.01)
        reporter(i=i, run=config.get("run", 0))


def reports_with_api(config: dict[str, Any]) -> None:
    """``f(config)`` reporting through ``tune_core.report``."""
    for i in range(1, config.get("n", 3) + 1):
        tune_core.report(i=i)


def fails(config: dict[str, Any], reporter: Any) -> None:
    reporter(i=1)
    raise ValueError(config.get("message", "planned failure"))


def uses_pinned(config: dict[str, Any], reporter: Any) -> None:
    obj = tune_core.get_pinned_object(config["handle"])
    reporter(total=float(sum(obj)), pid_seen=os.getpid())


def saves_objects(config: dict[str, Any], reporter: Any) -> None:
    """Counts on from its checkpoint (``save_checkpoint`` each iteration), up to ``n``."""
    loaded = tune_core.load_checkpoint()
    value = loaded["value"] if loaded else 0
    while value < config.get("n", 4):
        value += 1
        reporter(value=value, resumed=loaded is not None)
        if config.get("every", True) or tune_core.should_checkpoint():
            tune_core.save_checkpoint({"value": value})


class Counter(Trainable):
    """Adds 1 per iteration to ``start``; done at ``n`` (never when ``n`` is 0); checkpoints a file."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.value = config.get("start", 0)

    def _train(self) -> dict[str, Any]:
        if self.config.get("sleep"):
            time.sleep(self.config["sleep"])
        self.value += 1
        n = self.config.get("n", 5)
        return {"value": self.value, "run": self.config.get("run", 0), "done": bool(n) and self.value >= n}

    def _save(self, checkpoint_dir: str) -> str:
        path = Path(checkpoint_dir, "value.txt")
        path.write_text(str(self.value))
        return str(path)

    def _restore(self, checkpoint: Any) -> None:
        self.value = int(Path(checkpoint).read_text())
