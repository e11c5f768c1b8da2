"""Trainables the end-to-end tests run; a module of their own, so worker processes import them."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any


def objective(config: dict[str, Any]) -> float:
    """A bowl over the mixed space of the fmin comparison: smallest at x=1, lr=1e-2, n=3, relu, w=0, q=2."""
    nested = config["nested"]
    return ((config["x"] - 1) ** 2 + abs(math.log10(config["lr"]) + 2) + 0.1 * (config["n"] - 3) ** 2
            + (0.0 if config["act"] == "relu" else 0.5) + 0.01 * nested["w"] + (nested["q"] - 2) ** 2)


def mixed(config: dict[str, Any], reporter: Any) -> None:
    """One result: ``loss = objective(config)``."""
    reporter(loss=objective(config), done=True)


def quadratic(config: dict[str, Any], reporter: Any) -> None:
    """One result: ``loss = (x - 1)^2 + (y + 2)^2``; with ``fail_above`` set, raises for x above it."""
    if config.get("fail_above") is not None and config["x"] > config["fail_above"]:
        raise ValueError(f"x={config['x']} is above {config['fail_above']}")
    reporter(loss=(config["x"] - 1) ** 2 + (config.get("y", 0.0) + 2) ** 2, done=True)


def reward(config: dict[str, Any], reporter: Any) -> None:
    """The seed's kind of trainable: maximise ``neg_loss = -(x - 2)^2``."""
    reporter(neg_loss=-(config["x"] - 2) ** 2, timesteps_total=1, done=True)


def timed(config: dict[str, Any], reporter: Any) -> None:
    """Sleeps ``sleep`` s and records when it ran in ``<log>/<pid>-<time>.json`` (for overlap checks)."""
    start = time.time()
    time.sleep(config["sleep"])
    record = {"start": start, "end": time.time(), "x": config["x"]}
    Path(config["log"], f"{os.getpid()}-{start:.6f}.json").write_text(json.dumps(record))
    reporter(loss=(config["x"] - 3) ** 2, done=True)


def curve(config: dict[str, Any], reporter: Any) -> None:
    """A learning curve: ``score`` rises towards ``1 - (x - 0.7)^2`` over 20 iterations."""
    target = 1 - (config["x"] - 0.7) ** 2
    for i in range(1, 21):
        time.sleep(0.01)
        reporter(score=target * (1 - 0.8 ** i))


def marked(config: dict[str, Any], reporter: Any) -> None:
    """Sleeps briefly, leaves a marker file (the resume test counts them), reports ``loss``."""
    time.sleep(config["sleep"])
    Path(config["marks"], f"{os.getpid()}-{time.time():.6f}").write_text(json.dumps(config, default=str))
    reporter(loss=(config["x"] - 1) ** 2 + (config["y"] + 2) ** 2, done=True)
