"""Replaying one trial of a PBT run: its schedule of configs, and a scheduler that follows it.

A trial exploited at iteration ``n`` from a donor's checkpoint of iteration ``k`` holds, from
then on, the donor's state at ``k``: its schedule is the donor's schedule up to ``k`` (as it was
then), then the explored config. ``replay`` rebuilds that from the perturbation log;
``PopulationBasedTrainingReplay`` runs one fresh trial through it, switching configs at exactly
those iterations (the trial pauses there, checkpointing, and restarts from its own checkpoint with
the next config).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from tune_core import TuneError
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    PAUSED,
    PENDING,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_pbt.log import LOG_NAME, read_log

__all__ = ["LOG_NAME", "PopulationBasedTrainingReplay", "Segment", "replay"]


class Segment(NamedTuple):
    """From the result after ``training_iteration`` = ``iteration`` on, the trial ran with ``config``.

    ``time`` is the PBT ``time_attr`` value there (``0`` for the first segment).
    """

    iteration: int
    time: float
    config: dict[str, Any]


def replay(log: str | os.PathLike[str], trial_id: str) -> list[Segment]:
    """The schedule of configs of ``trial_id`` (an id or a trial name) in the PBT run whose log is
    ``log`` (the ``pbt_perturbations.jsonl`` file, or its experiment directory).

    The first segment is ``(0, 0, initial config)``; each exploit in the trial's lineage adds one.

    Raises:
        TuneError: no such log, or no trial of that id or name in it.
    """
    schedules: dict[str, list[Segment]] = {}
    names: dict[str, str] = {}
    try:
        for record in read_log(log):
            tid = str(record.get("trial_id"))
            names[str(record.get("trial_name"))] = tid
            if record.get("event") == "start":
                schedules.setdefault(tid, [Segment(0, 0.0, dict(record["config"]))])
            elif record.get("event") == "exploit":
                donor = schedules.get(str(record["from_trial_id"]), [])
                start = int(record["from_iteration"])
                kept = [s for s in donor if s.iteration < start]
                schedules[tid] = [*kept, Segment(start, float(record["from_t"]), dict(record["new_config"]))]
    except FileNotFoundError:
        raise TuneError(f"tune_pbt.replay: no perturbation log at {os.fspath(log)!r}; give the experiment "
                        f"directory of a PBT run (it holds {LOG_NAME}) or the file itself") from None
    key = trial_id if trial_id in schedules else names.get(trial_id, "")
    if key not in schedules:
        known = ", ".join(sorted(schedules)) or "none"
        raise TuneError(f"tune_pbt.replay: trial {trial_id!r} is not in the log {os.fspath(log)!r} "
                        f"(trial ids there: {known})")
    return schedules[key]


class PopulationBasedTrainingReplay(TrialScheduler):
    """Run one trial through a PBT trial's schedule of configs.

    Example::

        schedule = PopulationBasedTrainingReplay("~/tune_results/pbt_exp", "3f2a9c1e")
        tune.run(train, config=schedule.config, scheduler=schedule, stop={"training_iteration": 40})

    The trainable must checkpoint when paused: a ``Trainable`` class always does; a function does
    when it calls ``tune_core.should_checkpoint()`` after each report and checkpoints when true.

    Args:
        log: the PBT run's experiment directory, or its ``pbt_perturbations.jsonl``.
        trial_id: the trial (id or name) to replay.
    """

    def __init__(self, log: str | os.PathLike[str], trial_id: str) -> None:
        schedule = replay(os.path.expanduser(os.fspath(log)), trial_id)
        merged: list[Segment] = []
        for segment in schedule:  # Two exploits from the same iteration: the later one holds.
            if merged and merged[-1].iteration == segment.iteration:
                merged[-1] = segment
            else:
                merged.append(segment)
        self.schedule = merged
        self._next = 1
        self._due = False

    @property
    def config(self) -> dict[str, Any]:
        """The config to start the trial with."""
        return dict(self.schedule[0].config)

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        if self._next >= len(self.schedule):
            return None
        return DecisionPoint("training_iteration", self.schedule[self._next].iteration)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        if self._next < len(self.schedule) and result.get("training_iteration", 0) >= self.schedule[self._next].iteration:
            self._due = True
            return PAUSE
        return CONTINUE

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        for trial in runner.trials_with_status(PENDING, PAUSED):
            if not runner.has_resources(trial.resources):
                continue
            if trial.status == PAUSED and self._due:
                segment = self.schedule[self._next]
                checkpoint = trial.checkpoint
                if checkpoint is None or checkpoint.iteration != segment.iteration:
                    got = "none" if checkpoint is None else f"iteration {checkpoint.iteration}"
                    raise TuneError(
                        f"PopulationBasedTrainingReplay: {trial.name} paused at iteration {segment.iteration} "
                        f"without a checkpoint of it (latest: {got}); the trainable must checkpoint when "
                        "paused (a function: `if tune_core.should_checkpoint(): save_checkpoint(...)` "
                        "after each report)")
                runner.restart_trial(trial, from_trial=trial, config=segment.config)
                self._next += 1
                self._due = False
            return trial
        return None

    def debug_string(self) -> str:
        return f"PopulationBasedTrainingReplay: segment {self._next} of {len(self.schedule)}."

    def save(self) -> Any:
        return {"next": self._next, "due": self._due}

    def restore(self, state: Any) -> None:
        self._next, self._due = state["next"], state["due"]
