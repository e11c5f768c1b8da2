"""Trainables of the tune-ray tests; a module of their own so Ray's workers import them."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import tune_core
from tune_core import Trainable


def climb(config: dict[str, Any]) -> None:
    """Reports ``score`` = ``quality`` * i for i = 1..``n``."""
    for i in range(1, config.get("n", 5) + 1):
        if config.get("sleep"):
            time.sleep(config["sleep"])
        tune_core.report(score=config["quality"] * i, i=i)


class Accumulator(Trainable):
    """Adds ``step`` each iteration; checkpoints its total as a JSON file."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.total = 0
        self.restored_from: int | None = None

    def _train(self) -> dict[str, Any]:
        self.total += self.config.get("step", 1)
        return {"total": self.total, "restored_from": self.restored_from, "pid": os.getpid(),
                "done": self.total >= self.config.get("until", 5)}

    def _save(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "state.json")
        with open(path, "w") as f:
            json.dump({"total": self.total}, f)
        return path

    def _restore(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str)
        with open(checkpoint) as f:
            self.total = json.load(f)["total"]
        self.restored_from = self.total


class NodeCounter(Trainable):
    """Counts iterations, reporting the Ray node it runs on (``ray_node``); checkpoints its count as a JSON file.

    ``sleep``: seconds per iteration. ``marks``: a directory where each iteration leaves an empty file
    ``<node id>-<iteration>``, so a test can tell how far the trials on a node have come. ``until``:
    the count at which it reports ``done``.
    """

    def _setup(self, config: dict[str, Any]) -> None:
        import ray

        self.count = 0
        self.restored_from: int | None = None
        self.node = ray.get_runtime_context().get_node_id()

    def _train(self) -> dict[str, Any]:
        time.sleep(self.config.get("sleep", 0.0))
        self.count += 1
        if self.config.get("marks"):
            open(os.path.join(self.config["marks"], f"{self.node}-{self.count}"), "w").close()
        return {"count": self.count, "ray_node": self.node, "restored_from": self.restored_from,
                "done": self.count >= self.config.get("until", 10**9)}

    def _save(self, checkpoint_dir: str) -> str:
        path = os.path.join(checkpoint_dir, "count.json")
        with open(path, "w") as f:
            json.dump({"count": self.count}, f)
        return path

    def _restore(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str)
        with open(checkpoint) as f:
            self.count = json.load(f)["count"]
        self.restored_from = self.count


class Climber(Trainable):
    """``value`` grows by ``config["step"]`` per iteration (the score), after ``config["sleep"]``
    seconds (so trials that start one after another overlap); checkpoints it as a dict.
    ``resumed`` counts the restores of this trial, so a test sees a pause continued from a checkpoint."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0
        self.resumed = 0

    def _train(self) -> dict[str, Any]:
        time.sleep(self.config.get("sleep", 0.0))
        self.value += self.config["step"]
        return {"score": self.value, "value": self.value, "resumed": self.resumed}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value, "resumed": self.resumed}

    def _restore(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, dict)
        self.value = checkpoint["value"]
        self.resumed = checkpoint["resumed"] + 1


def climber(config: dict[str, Any]) -> None:
    """The function form of ``Climber``: checkpoints when ``should_checkpoint()`` says."""
    state = tune_core.load_checkpoint() or {"value": 0.0}
    while True:
        time.sleep(config.get("sleep", 0.0))
        state["value"] += config["step"]
        tune_core.report(score=state["value"], value=state["value"])
        if tune_core.should_checkpoint():
            tune_core.save_checkpoint(dict(state))
