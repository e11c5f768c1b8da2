"""Names of the result fields tune-core fills in, and the code that fills them.

Results are free-form dicts: a trainable may report any metrics. These fields are added to every
result where the trial runs, so the driver does no per-result bookkeeping of its own.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "AUTO_FIELDS",
    "DONE",
    "TIMESTEPS_THIS_ITER",
    "TIMESTEPS_TOTAL",
    "TIME_THIS_ITER_S",
    "TIME_TOTAL_S",
    "TRAINING_ITERATION",
    "AutoFiller",
    "node_identity",
]

TRAINING_ITERATION = "training_iteration"
TIME_THIS_ITER_S = "time_this_iter_s"
TIME_TOTAL_S = "time_total_s"
TIMESTEPS_TOTAL = "timesteps_total"
TIMESTEPS_THIS_ITER = "timesteps_this_iter"
DONE = "done"

AUTO_FIELDS = (
    TRAINING_ITERATION,
    TIME_THIS_ITER_S,
    TIME_TOTAL_S,
    TIMESTEPS_TOTAL,
    DONE,
    "timestamp",
    "date",
    "pid",
    "hostname",
    "node_ip",
    "trial_id",
    "experiment_id",
    "config",
)

_identity: tuple[str, str] | None = None


def node_identity() -> tuple[str, str]:
    """``(hostname, ip)`` of this machine, looked up once per process."""
    global _identity
    if _identity is None:
        host = socket.gethostname()
        try:
            ip = socket.gethostbyname(host)
        except OSError:
            ip = "127.0.0.1"
        _identity = (host, ip)
    return _identity


_second: tuple[int, str] = (-1, "")
#: The executor's name for the node this process runs trials on (``set_node``); None: not named.
_node: str | None = None


def set_node(name: str | None) -> None:
    """Name the node this process's trials run on: their results carry it as ``node`` (``TrialHost``
    sets it; a process runs trials on one node)."""
    global _node
    _node = name


def _wall_clock() -> tuple[int, str]:
    """``(timestamp, date)`` for now; the date string is formatted once per second, not per result."""
    global _second
    now = int(time.time())
    if now != _second[0]:
        _second = (now, time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now)))
    return _second


class AutoFiller:
    """Adds the auto fields to each result of one trial, keeping the running totals.

    The totals (iteration, time, timesteps) survive a checkpoint through ``state``/``set_state``.
    """

    __slots__ = ("_clock", "_last", "_static", "iteration", "time_total", "timesteps_total")

    def __init__(self, trial_id: str, experiment_id: str, clock: Callable[[], float] = time.monotonic):
        host, ip = node_identity()
        self._static = {
            "pid": os.getpid(),
            "hostname": host,
            "node_ip": ip,
            "trial_id": trial_id,
            "experiment_id": experiment_id,
        }
        if _node is not None:  # The executor's name for where the trial runs (a Ray node, say).
            self._static["node"] = _node
        self._clock = clock
        self._last = clock()
        self.iteration = 0
        self.time_total = 0.0
        self.timesteps_total: float | None = None

    def restart_clock(self) -> None:
        """Start timing the next iteration from now (after setup or a restore)."""
        self._last = self._clock()

    def fill(self, result: dict[str, Any]) -> dict[str, Any]:
        now = self._clock()
        self.iteration += 1
        this_iter = result.get(TIME_THIS_ITER_S)
        if this_iter is None:
            this_iter = now - self._last
            result[TIME_THIS_ITER_S] = this_iter
        self._last = now
        self.time_total += this_iter
        steps = result.get(TIMESTEPS_THIS_ITER)
        if steps is not None:
            self.timesteps_total = (self.timesteps_total or 0) + steps
            result[TIMESTEPS_TOTAL] = self.timesteps_total
        elif TIMESTEPS_TOTAL in result:
            self.timesteps_total = result[TIMESTEPS_TOTAL]
        elif self.timesteps_total is not None:
            result[TIMESTEPS_TOTAL] = self.timesteps_total
        if "mean_loss" in result and "neg_mean_loss" not in result:
            try:
                result["neg_mean_loss"] = -result["mean_loss"]
            except TypeError:
                pass
        result[TRAINING_ITERATION] = self.iteration
        result[TIME_TOTAL_S] = self.time_total
        result.setdefault(DONE, False)
        result["timestamp"], result["date"] = _wall_clock()
        result.update(self._static)
        return result

    def state(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "time_total": self.time_total,
            "timesteps_total": self.timesteps_total,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.iteration = state["iteration"]
        self.time_total = state["time_total"]
        self.timesteps_total = state["timesteps_total"]
