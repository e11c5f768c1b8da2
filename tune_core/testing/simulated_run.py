"""One run of one synthetic trial: where it is on its curve, its auto fields, and its checkpoints.

A simulated trial's state is small: its iteration, its totals and the curve's last metrics. A
checkpoint is a real one (``tune_core.checkpoints``: the totals in the metadata, the last metrics as
its object), so the runner keeps, copies and restores it as any other; a trial restarted from a copy
(``restart_trial``) reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tune_core import checkpoints
from tune_core.interfaces import DecisionPoint, TrialLaunch

__all__ = ["SimulatedRun", "read_checkpoint", "write_checkpoint"]

Totals = dict[str, Any]


class SimulatedRun:
    """One run of one trial: where it is on its curve, and what it waits for."""

    __slots__ = ("attempt", "checkpointed", "config", "duration", "held", "iteration", "last", "launch",
                 "logdir", "ordinal", "point", "save_wanted", "stop", "stopped", "time_total", "timesteps",
                 "trial_id")

    def __init__(self, launch: TrialLaunch, ordinal: int, attempt: int, duration: float) -> None:
        self.launch = launch
        self.trial_id = launch.trial_id
        self.config = launch.config
        self.logdir = launch.logdir
        self.stop = list(launch.stop.items())
        self.point: DecisionPoint | None = launch.decision_point
        #: the trial's place in the order of first starts, and this run's number (1 = first).
        self.ordinal = ordinal
        self.attempt = attempt
        self.duration = duration
        self.iteration = 0
        #: the iteration of the latest checkpoint this run wrote or started from.
        self.checkpointed = 0
        self.time_total = 0.0
        self.timesteps: float | None = None
        self.last: Mapping[str, Any] | None = None
        #: waiting at a decision point for ``continue_trial``.
        self.held = False
        #: ``save_trial`` came while an iteration was under way: checkpoint after it.
        self.save_wanted = False
        #: stopped, paused or ended: its next iteration never comes.
        self.stopped = False

    def fill(self, result: dict[str, Any], date: tuple[int, str], static: Mapping[str, Any]) -> None:
        """The auto fields of the result of ``self.iteration``, in virtual time."""
        this_iter = result.setdefault("time_this_iter_s", self.duration)
        self.time_total += this_iter
        steps = result.get("timesteps_this_iter")
        if steps is not None:
            self.timesteps = (self.timesteps or 0) + steps
            result["timesteps_total"] = self.timesteps
        elif "timesteps_total" in result:
            self.timesteps = result["timesteps_total"]
        elif self.timesteps is not None:
            result["timesteps_total"] = self.timesteps
        result["training_iteration"] = self.iteration
        result["time_total_s"] = self.time_total
        result.setdefault("done", False)
        result["timestamp"], result["date"] = date
        result["trial_id"] = self.trial_id
        result["experiment_id"] = self.launch.experiment_id
        result.update(static)

    def totals(self) -> Totals:
        return {"iteration": self.iteration, "time_total": self.time_total, "timesteps_total": self.timesteps}

    def restore(self, totals: Totals, last: Mapping[str, Any] | None) -> None:
        """Go on from a checkpoint with these totals and last metrics."""
        self.iteration = self.checkpointed = int(totals["iteration"])
        self.time_total = float(totals["time_total"])
        self.timesteps = totals["timesteps_total"]
        self.last = last


def write_checkpoint(run: SimulatedRun) -> tuple[str, Totals, Mapping[str, Any] | None]:
    """Checkpoint ``run`` where it is (in its trial's directory); its path, totals and last metrics."""
    totals = run.totals()
    last = dict(run.last) if run.last is not None else None
    with checkpoints.writing(run.logdir, run.iteration, totals) as draft:
        draft.set_object({"last": last})
    run.checkpointed = run.iteration
    return draft.final, totals, last


def read_checkpoint(path: str) -> tuple[Totals, Mapping[str, Any] | None]:
    """The totals and last metrics of the checkpoint at ``path`` (``None`` metrics: not a simulated one)."""
    meta = checkpoints.read_metadata(path)
    obj = checkpoints.load_object(meta)
    return meta.totals, obj.get("last") if isinstance(obj, dict) else None
