"""Trainables of the tune-optuna tests, importable by name (``optuna_trainables:quadratic``) from
the YAML specs and the driver scripts the tests start."""

from __future__ import annotations

import os
import time
from typing import Any


def bowl(x: float, y: float) -> float:
    """The function the searchers minimise: 0 at (2, -1)."""
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


def quadratic(config: dict[str, Any], reporter: Any) -> None:
    """One result: ``loss`` = ``bowl(x, y)``."""
    reporter(loss=bowl(config["x"], config["y"]), done=True)


def slow_quadratic(config: dict[str, Any], reporter: Any) -> None:
    """``quadratic`` taking ``config["sleep"]`` seconds, so trials overlap."""
    time.sleep(config.get("sleep", 0.03))
    reporter(loss=bowl(config["x"], config["y"]), done=True)


def curve(config: dict[str, Any], reporter: Any) -> None:
    """A learning curve: ``loss`` falls towards ``bowl(x, y)`` over the iterations."""
    for step in range(1, config.get("steps", 9) + 1):
        time.sleep(config.get("sleep", 0.0))
        reporter(loss=bowl(config["x"], config["y"]) + 1.0 / step)


def marked_quadratic(config: dict[str, Any], reporter: Any) -> None:
    """``slow_quadratic`` that leaves a file named by its ``x`` in ``config["marks"]`` as it reports
    (for the kill test; a function trainable does not go on after ``done=True``)."""
    time.sleep(config["sleep"])
    loss = bowl(config["x"], config["y"])
    path = os.path.join(config["marks"], f"{config['x']!r}")
    with open(path + ".tmp", "w") as f:
        f.write(repr(loss))
    os.replace(path + ".tmp", path)
    reporter(loss=loss, done=True)
