"""``SimulatedExecutor``: an executor on a virtual clock whose trials are synthetic learning curves.

The real ``TrialRunner`` and the real scheduler run against it (``run_experiments(...,
executor=SimulatedExecutor(...))``), so a scheduler is tested through the same calls, decision
points, pauses, checkpoints and restarts as in a real run, at thousands of trials a second and
without sleeping: ``poll`` moves the clock to the next event. A trial's iteration ``i`` ends
``duration(config)`` virtual seconds after the one before and reports ``curve(config, i)``, with the
auto fields filled from the virtual clock.

Checkpoints are real ones (``tune_core.checkpoints``: a directory with the totals and the curve's
last metrics), written only when asked for (``checkpoint_freq``, ``save_trial``, a pause), so a
restart from another trial's copy (PBT's ``restart_trial``) continues from that trial's iteration.
"""

from __future__ import annotations

import heapq
import os
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from tune_core.checkpoints import Checkpoint
from tune_core.errors import TuneError
from tune_core.interfaces import (
    DecisionPoint,
    Executor,
    ExecutorEvent,
    TrialCheckpointed,
    TrialFailed,
    TrialFinished,
    TrialLaunch,
    TrialPaused,
    TrialResults,
)
from tune_core.resources import Resources
from tune_core.testing.curves import Curve, default_curve, gauss, normalize_curve, unit
from tune_core.testing.simulated_run import SimulatedRun, read_checkpoint, write_checkpoint

__all__ = ["SimulatedExecutor", "SimulationStalled", "simulated_trainable"]


class SimulationStalled(TuneError):
    """The runner kept polling with no trial in flight: nothing can ever happen again."""


def simulated_trainable(config: dict[str, Any], reporter: Any) -> None:
    """The ``run`` of a simulated experiment: its trials exist only in a ``SimulatedExecutor``."""
    raise TuneError("this trainable only runs on tune_core.testing.SimulatedExecutor (executor=...)")


class SimulatedExecutor(Executor):
    """Runs synthetic trials on ``workers`` virtual CPUs, in virtual time.

    Args:
        workers: CPUs to hand out (``total_resources().cpu``): how many 1-CPU trials run at once.
        curve: ``curve(config, iteration[, last]) -> metrics`` (``last``: the metrics of the
            iteration before, as the curve returned them, also after a restore); a ``done: True``
            in them ends the trial, an exception fails it (with its traceback). Default:
            ``default_curve``.
        duration: virtual seconds per iteration, or ``duration(config)``; default the config's
            ``cost`` if it has one, else 1.
        noise: standard deviation of Gaussian noise added to every float metric.
        failure_rate: probability that an iteration fails the trial instead (``max_failures``
            then retries it from its latest checkpoint).
        seed: seeds noise and failures; the same seed and the same decisions give the same run.
        gpus: GPUs to account for.
        stall_polls: raise ``SimulationStalled`` after this many polls in a row with no trial in
            flight (the runner waits for a scheduler that chooses nothing); ``None``: never.
    """

    def __init__(self, workers: int = 4, curve: Curve | None = None, *,
                 duration: float | Callable[[Mapping[str, Any]], float] | None = None,
                 noise: float = 0.0, failure_rate: float = 0.0, seed: int = 0, gpus: float = 0,
                 stall_polls: int | None = 10_000) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise TuneError(f"SimulatedExecutor: `workers` must be an int >= 1, got {workers!r}")
        if not 0.0 <= failure_rate < 1.0:
            raise TuneError(f"SimulatedExecutor: `failure_rate` must be in [0, 1), got {failure_rate!r}")
        self._total = Resources(cpu=float(workers), gpu=float(gpus))
        self._curve = normalize_curve(curve or default_curve)
        self._duration = duration
        self._noise = float(noise)
        self._failure_rate = float(failure_rate)
        self._seed = int(seed)
        self._stall_polls = stall_polls
        self._idle_polls = 0
        self._now = 0.0
        self._epoch = time.time()
        self._seq = 0
        #: (virtual time, sequence, run): when each running trial's next iteration ends.
        self._heap: list[tuple[float, int, SimulatedRun]] = []
        #: Events due now (pauses, saves), in order.
        self._due: list[tuple[SimulatedRun, ExecutorEvent]] = []
        self._runs: dict[str, SimulatedRun] = {}
        self._ordinals: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        #: trial id -> its latest checkpoint (directory, totals, last metrics): a pause and its resume
        #: read no files back. Only the latest: PBT at 10,000 trials checkpoints a great many times.
        self._saved: dict[str, tuple[str, dict[str, Any], Mapping[str, Any] | None]] = {}
        self._static = {"pid": os.getpid(), "hostname": "simulator", "node_ip": "0.0.0.0"}
        self._date: tuple[int, str] = (-1, "")
        self.iterations = 0

    # --- Executor ---------------------------------------------------------------------------
    def total_resources(self) -> Resources:
        return self._total

    def clock(self) -> float:
        """Virtual seconds since the simulation started."""
        return self._now

    def start_trial(self, launch: TrialLaunch) -> str:
        trial_id = launch.trial_id
        ordinal = self._ordinals.setdefault(trial_id, len(self._ordinals))
        attempt = self._attempts[trial_id] = self._attempts.get(trial_id, 0) + 1
        duration = self._duration_of(launch.config)
        run = self._runs[trial_id] = SimulatedRun(launch, ordinal, attempt, duration)
        if launch.restore is not None:
            self._restore(run, launch.restore)
        self._schedule(run)
        return f"simulated worker, trial {ordinal}"

    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        run = self._runs.get(trial_id)
        if run is not None and run.held:
            run.held = False
            run.point = decision_point
            self._schedule(run)

    def pause_trial(self, trial_id: str) -> bool:
        """Checkpoint at the last iteration reported and stop; the iteration under way is lost."""
        run = self._runs.pop(trial_id, None)
        if run is None:
            return False
        run.stopped = True  # Its next iteration never ends; its due events still come.
        if run.iteration > run.checkpointed:
            self._due.append((run, self._checkpoint(run)))
        self._due.append((run, TrialPaused(trial_id)))
        return True

    def save_trial(self, trial_id: str) -> bool:
        """A held trial checkpoints where it waits; a running one after the iteration under way."""
        run = self._runs.get(trial_id)
        if run is None:
            return False
        if run.held and run.iteration > 0:
            self._due.append((run, self._checkpoint(run)))
        else:
            run.save_wanted = True
        return True

    def stop_trial(self, trial_id: str) -> None:
        run = self._runs.pop(trial_id, None)
        if run is not None:
            run.stopped = True
            self._due = [(r, e) for r, e in self._due if r is not run]

    def poll(self, timeout: float) -> list[ExecutorEvent]:
        """The events of the next virtual instant; the clock moves there. Never sleeps."""
        # One run's events per poll: what the runner does about one trial (stop it, restart it from
        # another's checkpoint) must reach this executor before another trial's events are handed over,
        # or a stale event of a run just replaced could pass for the new run's.
        due = self._due
        if due:
            self._idle_polls = 0
            run = due[0][0]
            count = 1
            while count < len(due) and due[count][0] is run:
                count += 1
            self._due = due[count:]
            return [event for _, event in due[:count]]
        heap = self._heap
        while heap:
            when, _, run = heapq.heappop(heap)
            if not run.stopped:
                self._idle_polls = 0
                self._now = when
                events: list[ExecutorEvent] = []
                self._step(run, events)
                return events
        self._idle(timeout)
        return []

    def shutdown(self) -> None:
        for trial_id in list(self._runs):
            self.stop_trial(trial_id)
        self._heap.clear()

    # --- the trials -------------------------------------------------------------------------
    def _duration_of(self, config: Mapping[str, Any]) -> float:
        duration = self._duration
        if duration is None:
            value = config.get("cost", 1.0)
        elif callable(duration):
            value = duration(config)
        else:
            value = duration
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise TuneError(f"SimulatedExecutor: the duration of an iteration must be a number > 0, got "
                            f"{value!r} for config {dict(config)!r}")
        return float(value)

    def _schedule(self, run: SimulatedRun) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (self._now + run.duration, self._seq, run))

    def _step(self, run: SimulatedRun, events: list[ExecutorEvent]) -> None:
        """The next iteration of ``run`` ends now: its result, checkpoint, hold or end."""
        iteration = run.iteration + 1
        self.iterations += 1
        trial_id = run.trial_id
        keys = (self._seed, run.ordinal, run.attempt, iteration)
        if self._failure_rate and unit(*keys) < self._failure_rate:
            self._end(run, events, TrialFailed(trial_id, f"SimulatedFailure: trial {run.ordinal} failed in "
                                               f"iteration {iteration} (failure_rate={self._failure_rate})\n"))
            return
        try:
            metrics = self._curve(run.config, iteration, run.last)
            result = dict(metrics)
        except Exception:
            self._end(run, events, TrialFailed(trial_id, traceback.format_exc()))
            return
        if self._noise:
            for index, (key, value) in enumerate(metrics.items()):
                if type(value) is float:
                    result[key] = value + self._noise * gauss(*keys, index)
        run.iteration = iteration
        run.last = metrics
        stamp = int(self._epoch + self._now)
        if stamp != self._date[0]:
            self._date = (stamp, time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(stamp)))
        run.fill(result, self._date, self._static)
        done = bool(result.get("done"))
        if not done:
            for key, threshold in run.stop:
                try:
                    if result[key] >= threshold:
                        result["done"] = done = True
                        break
                except (KeyError, TypeError, ValueError):
                    from tune_core.runtime.session import stop_criterion_error

                    events.append(TrialResults(trial_id, [result]))
                    error = stop_criterion_error(key, threshold, result)
                    self._end(run, events, TrialFailed(trial_id, f"tune_core.errors.TuneError: {error}\n"))
                    return
        launch = run.launch
        if done:
            events.append(TrialResults(trial_id, [result]))
            if launch.checkpoint_at_end:
                events.append(self._checkpoint(run))
            self._end(run, events, TrialFinished(trial_id))
            return
        point = run.point
        held = point is not None and point.reached(result)
        events.append(TrialResults(trial_id, [result], held))
        freq = launch.checkpoint_freq
        if run.save_wanted or (freq and iteration % freq == 0):
            run.save_wanted = False
            events.append(self._checkpoint(run))
        if held:
            run.held = True
        else:
            self._schedule(run)

    def _end(self, run: SimulatedRun, events: list[ExecutorEvent], ending: ExecutorEvent) -> None:
        events.append(ending)
        run.stopped = True
        if self._runs.get(run.trial_id) is run:
            del self._runs[run.trial_id]

    def _idle(self, timeout: float) -> None:
        self._idle_polls += 1  # Reset by every poll that returns something.
        if self._stall_polls is not None and self._idle_polls >= self._stall_polls:
            self._idle_polls = 0
            raise SimulationStalled(
                f"the simulation stalled at virtual time {self._now:g} s: {self._stall_polls} polls in a row "
                "with no trial running. The runner waits for trials that are never started: the "
                "scheduler's choose_trial_to_run returns None while trials are PENDING or PAUSED (or "
                "the search algorithm waits for results that cannot come)"
            )

    # --- checkpoints ------------------------------------------------------------------------
    def _checkpoint(self, run: SimulatedRun) -> TrialCheckpointed:
        """A real checkpoint of where ``run`` is; the latest of each trial is also kept here."""
        path, totals, last = write_checkpoint(run)
        self._saved[run.trial_id] = (path, totals, last)
        return TrialCheckpointed(run.trial_id, Checkpoint(run.iteration, path=path))

    def _restore(self, run: SimulatedRun, checkpoint: Checkpoint) -> None:
        if checkpoint.path is None:
            raise TuneError("SimulatedExecutor: a checkpoint to restore must be a path on this disk")
        saved = self._saved.get(run.trial_id)
        if saved is not None and saved[0] == checkpoint.path:
            run.restore(saved[1], saved[2])
        else:  # A copy (restart_trial), an older one, or an earlier executor's: read it.
            run.restore(*read_checkpoint(checkpoint.path))
