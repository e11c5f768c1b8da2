"""Trainables of the run tests, in a module of their own so worker processes import them.

``Counter`` reports a known result per iteration (nested dict, bool, text, NaN, inf among the
fields), checkpoints its counter, and can fail or interrupt the driver once at a chosen iteration,
marked by a flag file (a retried or resumed trial must not do it again).
"""

from __future__ import annotations

import math
import os
import signal
import time
from typing import Any

import tune_core as tune


def result_at(i: int, scale: float) -> dict[str, Any]:
    """What ``Counter`` reports at iteration ``i``: the same on every run, so a repeat is visible."""
    return {"score": scale * i, "info": {"lr": 0.5 / i, "ok": True}, "phase": "warm" if i < 3 else "main",
            "flag": i % 2 == 0, "nan_at_2": math.nan if i == 2 else float(i), "inf": math.inf}


def non_finite(step: int) -> dict[str, float]:
    """The fields of ``result_at(step)`` that result.json writes as null."""
    return {"inf": math.inf, **({"nan_at_2": math.nan} if step == 2 else {})}


def _once(flag: str) -> bool:
    """True the first time for ``flag`` (created exclusively, so two trials never both see True)."""
    try:
        with open(flag, "x") as marker:
            marker.write("done")
    except FileExistsError:
        return False
    return True


class Counter(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.count = 0

    def _train(self) -> dict[str, Any]:
        self.count += 1
        i = self.count
        flag = f"{self.config.get('flag')}-{self.config['scale']}"
        if self.config.get("fail_at") == i and _once(flag):
            raise RuntimeError(f"failing once at iteration {i}")
        if self.config.get("interrupt_at") == i and _once(self.config["flag"]):
            # Ctrl-C to the driver (this process's parent with the local executor), once the results
            # reported since the last checkpoint have reached it: the resume reports them again.
            time.sleep(0.3)
            os.kill(os.getppid(), signal.SIGINT)
            time.sleep(2)  # the driver stops the trial meanwhile; it must not run on to the end
        return result_at(i, self.config["scale"])

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"count": self.count}

    def _restore(self, checkpoint: Any) -> None:
        self.count = checkpoint["count"]
