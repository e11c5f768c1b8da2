"""Trainables shared by the engine tests (importable by worker processes through sys.path)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from typing import Any

import tune_core as tune


def counting(config: dict[str, Any], reporter: Any) -> None:
    """Reports ``score = i * step`` for ``iters`` iterations."""
    for i in range(config.get("iters", 5)):
        reporter(score=i * config.get("step", 1), timesteps_total=i)


def raises_at(config: dict[str, Any], reporter: Any) -> None:
    for i in range(10):
        if i == config.get("fail_at", 2):
            raise ValueError(f"boom at {i}")
        reporter(score=i)


def kills_itself(config: dict[str, Any], reporter: Any) -> None:
    reporter(score=0)
    if config.get("how") == "segv":
        ctypes.string_at(0)
    os.kill(os.getpid(), signal.SIGKILL)


def prints(config: dict[str, Any], reporter: Any) -> None:
    print("hello from", config["who"])
    print("to stderr", file=sys.stderr)
    os.system("echo from a subprocess")
    reporter(score=1)


def sleeps(config: dict[str, Any], reporter: Any) -> None:
    start = time.time()
    time.sleep(config.get("sleep", 0.3))
    reporter(start=start, end=time.time(), cuda=os.environ.get("CUDA_VISIBLE_DEVICES"), pid=os.getpid())


def marks_iterations(config: dict[str, Any], reporter: Any) -> None:
    """Appends each iteration it reaches to a file, to show where a trial really stopped."""
    for i in range(1, 50):
        with open(config["marks"], "a") as f:
            f.write(f"{config['tag']} {i}\n")
        reporter(score=i)


class Counter(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.value = config.get("start", 0)

    def _train(self) -> dict[str, Any]:
        self.value += 1
        return {"value": self.value, "done": self.value >= self.config.get("until", 3)}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


class SlowCounter(tune.Trainable):
    """Counts iterations, sleeping ``config["sleep"]`` in each; checkpoints its count."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.x = 0

    def _train(self) -> dict[str, Any]:
        time.sleep(self.config.get("sleep", 0.01))
        self.x += 1
        return {"x": self.x}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"x": self.x}

    def _restore(self, checkpoint: Any) -> None:
        self.x = checkpoint["x"]
