"""Trainables of the tune-server tests, imported by name ('server_trainables:steps') in trial processes."""

from __future__ import annotations

import time
from typing import Any


def steps(config: dict[str, Any], reporter: Any) -> None:
    """One result every ``sleep`` seconds, ``iters`` of them: slow enough for a client to act between."""
    for i in range(1, int(config.get("iters", 100)) + 1):
        time.sleep(float(config.get("sleep", 0.3)))
        reporter(score=i)
