"""Trainables of the end-to-end tests, in a module of their own so worker processes import them.

Both climb: ``value`` grows by ``config["step"]`` per iteration, and the score is the value, so a
trial's values tell exactly which steps it ran with (and from whose checkpoint it continued).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import tune_core as tune


class Climber(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0

    def _train(self) -> dict[str, Any]:
        self.value += self.config["step"]
        return {"score": self.value, "value": self.value}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


def climber(config: dict[str, Any]) -> None:
    """The function form: checkpoints only when ``should_checkpoint()`` says, after reporting."""
    state = tune.load_checkpoint() or {"value": 0.0}
    while True:
        state["value"] += config["step"]
        tune.report(score=state["value"], value=state["value"])
        if tune.should_checkpoint():
            tune.save_checkpoint(dict(state))


class Interrupting(Climber):
    """Climber whose first trial to reach iteration 7 interrupts its own process (once: a flag file),
    as Ctrl-C would; for the thread executor, where the trial runs in the driver's process."""

    def _train(self) -> dict[str, Any]:
        result = super()._train()
        flag = self.config["flag"]
        if self.iteration + 1 == 7:
            try:  # Created exclusively: two trials reaching iteration 7 at once send one Ctrl-C, not two.
                with open(flag, "x") as marker:
                    marker.write("interrupted")
            except FileExistsError:
                return result
            os.kill(os.getpid(), signal.SIGINT)
        return result
