"""The event loop: take trials from the search algorithm, start them on the executor, route each
result to loggers, searcher and scheduler, and apply the scheduler's decisions.

Time comes from the executor's clock, never from ``time`` directly, so a simulated executor with a
virtual clock drives the same loop.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_core.commands import AddTrial, Command, CommandQueue, StopTrial
from tune_core.errors import TuneError
from tune_core.interfaces import (
    CONTINUE,
    EVERY_RESULT,
    PAUSE,
    STOP,
    DecisionPoint,
    Executor,
    SearchAlgorithm,
    TrialCheckpointed,
    TrialFailed,
    TrialFinished,
    TrialLaunch,
    TrialLogger,
    TrialPaused,
    TrialResults,
    TrialRunnerView,
    TrialScheduler,
)
from tune_core.logwriter import LogWriter
from tune_core.registry import get_trainable
from tune_core.resources import Resources
from tune_core.trial import ERROR, PAUSED, PENDING, RUNNING, TERMINATED, Trial, trial_dirname

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tune_core.experiment import Experiment

__all__ = ["TrialRunner"]

log = logging.getLogger("tune_core")

FLUSH_INTERVAL_S = 2.0
#: experiment_state.json is written at most this often (and at the end of the run).
STATE_INTERVAL_S = 0.5
_LIVE = frozenset((PENDING, RUNNING, PAUSED))


@dataclass
class _Usage:
    """Resources handed out right now."""

    cpu: float = 0.0
    gpu: float = 0.0
    custom: dict[str, float] = field(default_factory=dict)

    def add(self, res: Resources, sign: int) -> None:
        self.cpu += sign * res.total_cpu
        self.gpu += sign * res.total_gpu
        for key, amount in res.custom.items():
            self.custom[key] = self.custom.get(key, 0.0) + sign * amount

    def as_resources(self) -> Resources:
        return Resources(cpu=self.cpu, gpu=self.gpu, custom=dict(self.custom))


class TrialRunner(TrialRunnerView):
    """Runs the trials of one ``run_experiments`` call to the end."""

    def __init__(
        self,
        search_alg: SearchAlgorithm,
        scheduler: TrialScheduler,
        executor: Executor,
        loggers: Sequence[TrialLogger] = (),
        reporter: Any = None,
        observers: Any = None,
        logdirs: Sequence[str] = (),
        max_pending_trials: int | None = None,
        experiments: Sequence[Experiment] = (),
    ):
        self._search_alg = search_alg
        self._scheduler = scheduler
        self._executor = executor
        self._logs = LogWriter(loggers)
        self._reporter = reporter
        self._observers = observers
        self._logdirs = list(logdirs)
        self._total = executor.total_resources()
        self._used = _Usage()
        self._trials: list[Trial] = []
        self._by_id: dict[str, Trial] = {}
        self._live: dict[str, Trial] = {}
        self._commands = CommandQueue()
        self._running: dict[str, Trial] = {}
        slots = max(1, int(self._total.cpu))
        self._max_pending = max_pending_trials or max(16, 2 * slots)
        self._clock: Callable[[], float] = executor.clock
        self._last_flush = self._clock()
        self._taken_names: dict[str, set[str]] = {}
        self._on_disk: dict[str, set[str]] = {}
        self._preexisting: dict[str, set[str]] = {}
        self._experiments = list(experiments)
        self._state_dirty = True
        self._last_state = -STATE_INTERVAL_S
        self._interrupted = False

    # --- TrialRunnerView ---------------------------------------------------------------------
    def get_trials(self) -> list[Trial]:
        return self._trials

    def get_trial(self, trial_id: str) -> Trial | None:
        """The trial with this id (ids are stable for the life of the experiment, across resumes)."""
        return self._by_id.get(trial_id)

    def trials_with_status(self, *statuses: str) -> list[Trial]:
        if _LIVE.issuperset(statuses):
            return [t for t in self._live.values() if t.status in statuses]
        return [t for t in self._trials if t.status in statuses]

    def has_resources(self, resources: Resources) -> bool:
        total, used = self._total, self._used
        if used.cpu + resources.total_cpu > total.cpu + 1e-9:
            return False
        if used.gpu + resources.total_gpu > total.gpu + 1e-9:
            return False
        for key, amount in resources.custom.items():
            if used.custom.get(key, 0.0) + amount > total.custom.get(key, 0.0) + 1e-9:
                return False
        return self._executor.fits(resources)

    # --- the loop -----------------------------------------------------------------------------
    def is_finished(self) -> bool:
        return not self._live and self._search_alg.is_finished() and self._commands.empty()

    def run(self) -> list[Trial]:
        self._report(force=True)
        while not self.is_finished() and not self._interrupted:
            self.step()
        if self._interrupted:
            self._stop_for_resume()
        self._flush()
        self._report(force=True, finished=True)
        return self._trials

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def interrupt(self) -> None:
        """Stop soon, leaving a state from which ``resume`` continues (safe from a signal handler)."""
        self._interrupted = True

    def _stop_for_resume(self) -> None:
        """Stop the running trials but record them as they were, so a resume continues them."""
        for trial in list(self._running.values()):
            self._executor.stop_trial(trial.trial_id)
            self._running.pop(trial.trial_id, None)
            self._used.add(trial.resources, -1)
            self._logs.trial_complete(trial)

    def request(self, command: Command) -> Future[Trial]:
        """Queue ``command`` from any thread; it is applied between two steps of the loop.

        The future resolves to the trial added or stopped, or raises the ``TuneError`` that refused
        the command (an unknown trial id, a trial that can never fit).
        """
        return self._commands.put(command)

    def _apply_commands(self) -> None:
        if self._commands.empty():
            return
        for command, future in self._commands.take_all():
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._apply(command))
            except TuneError as exc:
                future.set_exception(exc)

    def _apply(self, command: Command) -> Trial:
        if isinstance(command, AddTrial):
            if command.trial.trial_id in self._by_id:
                raise TuneError(f"a trial with id {command.trial.trial_id!r} is already in this experiment")
            self.add_trial(command.trial)
            return command.trial
        if isinstance(command, StopTrial):
            trial = self._by_id.get(command.trial_id)
            if trial is None:
                known = ", ".join(t.trial_id for t in self._trials[:10]) or "none"
                raise TuneError(f"no trial with id {command.trial_id!r} in this experiment (ids: {known}"
                                f"{', ...' if len(self._trials) > 10 else ''})")
            self.stop_trial(trial)
            return trial
        raise TuneError(f"unknown command {command!r}; allowed: AddTrial, StopTrial")

    def step(self) -> None:
        self._apply_commands()
        self._add_new_trials()
        while (trial := self._scheduler.choose_trial_to_run(self)) is not None:
            if trial.status not in (PENDING, PAUSED) or not self.has_resources(trial.resources):
                raise TuneError(f"scheduler {type(self._scheduler).__name__} chose {trial}, which cannot run now")
            self._start(trial)
        timeout = 0.1 if self._running else 0.01
        for event in self._executor.poll(timeout):
            if isinstance(event, TrialResults):
                self._on_results(event)
            elif isinstance(event, TrialFinished):
                trial = self._running.get(event.trial_id)
                if trial is not None:
                    self._complete(trial)
            elif isinstance(event, TrialFailed):
                trial = self._running.get(event.trial_id)
                if trial is not None:
                    self._on_failure(trial, event.error)
            elif isinstance(event, TrialCheckpointed):
                trial = self._running.get(event.trial_id)
                if trial is not None:
                    self._on_checkpoint(trial, event.path, event.iteration)
            elif isinstance(event, TrialPaused):
                trial = self._running.get(event.trial_id)
                if trial is not None:
                    trial.extra.pop("pausing", None)
                    self._release(trial, PAUSED)
        now = self._clock()
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self._flush()
        self._save_state()
        self._report()

    def _add_new_trials(self) -> None:
        pending = sum(1 for t in self._live.values() if t.status == PENDING)
        while pending < self._max_pending and not self._search_alg.is_finished():
            trial = self._search_alg.next_trial()
            if trial is None:
                break
            self.add_trial(trial)
            pending += 1

    def add_trial(self, trial: Trial) -> None:
        """Add a trial (from the searcher, or from outside the loop) as PENDING."""
        self._check_fits_at_all(trial)
        self._trials.append(trial)
        self._by_id[trial.trial_id] = trial
        if not trial.is_finished():
            self._live[trial.trial_id] = trial
        self._scheduler.on_trial_add(self, trial)
        self._state_dirty = True

    def _check_fits_at_all(self, trial: Trial) -> None:
        total, res = self._total, trial.resources
        problems = []
        if res.total_cpu > total.cpu + 1e-9:
            problems.append(f"{res.total_cpu:g} CPUs but the executor has {total.cpu:g}")
        if res.total_gpu > total.gpu + 1e-9:
            problems.append(f"{res.total_gpu:g} GPUs but the executor has {total.gpu:g}")
        for key, amount in res.custom.items():
            if amount > total.custom.get(key, 0.0) + 1e-9:
                problems.append(f"{amount:g} {key!r} but the executor has {total.custom.get(key, 0.0):g}")
        if problems:
            raise TuneError(
                f"trial {trial.name} can never run: it needs {'; '.join(problems)}. Lower the trial's "
                "`resources`, or declare more with executor_config (e.g. {'num_cpus': 8})"
            )

    # --- starting ------------------------------------------------------------------------------
    def _start(self, trial: Trial) -> None:
        truncate_to = None
        if trial.logdir is None:
            trial.logdir = self._make_logdir(trial)
            if trial.extra.pop("adopted_logdir", False):
                truncate_to = 0  # Left by a killed attempt of this very trial: start it clean.
        else:  # A restart: results after the checkpoint it resumes from will come again.
            trial.fresh_logdir = False
            truncate_to = trial.checkpoint_iteration if trial.checkpoint else 0
            trial.num_results = min(trial.num_results, truncate_to)
        trial.status = RUNNING
        self._state_dirty = True
        self._running[trial.trial_id] = trial
        self._used.add(trial.resources, +1)
        self._logs.trial_start(trial, truncate_to)
        stop = trial.stopping_criterion
        launch = TrialLaunch(
            trial_id=trial.trial_id,
            trainable_name=trial.trainable_name,
            trainable=get_trainable(trial.trainable_name),
            config=trial.config,
            logdir=str(trial.logdir),
            resources=trial.resources,
            stop=dict(stop) if isinstance(stop, dict) else {},
            decision_point=self._decision_point(trial),
            experiment_id=trial.experiment_id,
            checkpoint_freq=trial.checkpoint_freq,
            checkpoint_at_end=trial.checkpoint_at_end,
            restore_path=trial.checkpoint or trial.restore_path,
        )
        trial.location = self._executor.start_trial(launch)
        if self._observers is not None:
            self._observers.trial_start(trial)

    def _make_logdir(self, trial: Trial) -> Path:
        """Choose the trial's directory; it is created where the trial runs and by the log writer.

        Names are unique within a run. Directories that were there before the run first started
        (``preexisting``, kept in the state across resumes) are never reused: such a clash gets the
        trial id appended. A directory this run made but whose trial the state did not record yet
        (the driver was killed in between) is the same trial's: a resumed run adopts it and cuts it
        back. Listed once per experiment rather than looked up once per trial.
        """
        base = str(trial.experiment_dir)
        on_disk = self._on_disk.get(base)
        if on_disk is None:
            try:
                on_disk = self._on_disk[base] = set(os.listdir(base))
            except FileNotFoundError:
                on_disk = self._on_disk[base] = set()
        taken = self._taken_names.setdefault(base, set(self._preexisting.setdefault(base, set(on_disk))))
        name = trial_dirname(trial)
        if name in taken:
            name = f"{name}_{trial.trial_id}"
        taken.add(name)
        trial.fresh_logdir = name not in on_disk
        if not trial.fresh_logdir:
            trial.extra["adopted_logdir"] = True
        return Path(base, name)

    def set_preexisting(self, experiment_dir: str, names: set[str], claimed: set[str]) -> None:
        """On resume: the names there before the first run, and those the state's trials own."""
        self._preexisting[experiment_dir] = set(names)
        self._taken_names[experiment_dir] = set(names) | set(claimed)

    def _decision_point(self, trial: Trial) -> DecisionPoint | None:
        if callable(trial.stopping_criterion) and not isinstance(trial.stopping_criterion, dict):
            return EVERY_RESULT
        return self._scheduler.decision_point(trial)

    # --- results -------------------------------------------------------------------------------
    def _on_results(self, event: TrialResults) -> None:
        trial = self._running.get(event.trial_id)
        if trial is None:
            return
        results = event.results
        for index, result in enumerate(results):
            decision = self._process_result(trial, result)
            if decision != CONTINUE:
                self._logs.trial_results(trial, results[: index + 1])
                self._apply_decision(trial, decision)
                return
        self._logs.trial_results(trial, results)
        if event.waiting and not trial.extra.get("pausing"):
            self._executor.continue_trial(trial.trial_id, self._decision_point(trial))

    def _process_result(self, trial: Trial, result: dict[str, Any]) -> str:
        trial.update_last_result(result)
        self._search_alg.on_trial_result(trial.trial_id, result)
        if self._observers is not None:
            self._observers.trial_result(trial, result)
        if result.get("done"):
            return CONTINUE  # The trial ends by itself; TrialFinished follows.
        stop = trial.stopping_criterion
        if callable(stop) and not isinstance(stop, dict) and stop(trial.trial_id, result):
            result["done"] = True
            return "COMPLETE"
        if trial.extra.get("pausing"):
            return CONTINUE  # Already asked to pause; results it sent before pausing are kept.
        return self._scheduler.on_trial_result(self, trial, result)

    def _apply_decision(self, trial: Trial, decision: str) -> None:
        if decision == PAUSE:
            # The trial saves a checkpoint where it is and frees its worker; TrialPaused follows.
            if trial.extra.get("pausing"):
                return
            if self._executor.pause_trial(trial.trial_id):
                trial.extra["pausing"] = True
                return
            self._executor.stop_trial(trial.trial_id)
            self._release(trial, PAUSED)
            return
        self._executor.stop_trial(trial.trial_id)
        if decision == "COMPLETE":
            self._complete(trial)
        elif decision == STOP:
            self._search_alg.on_trial_complete(trial.trial_id, trial.last_result)
            self._finish(trial, TERMINATED)
        else:
            raise TuneError(
                f"scheduler {type(self._scheduler).__name__} returned {decision!r}; "
                "allowed: CONTINUE, PAUSE, STOP"
            )

    def _on_checkpoint(self, trial: Trial, path: str, iteration: int) -> None:
        """Record the trial's newest checkpoint; with ``keep_checkpoints_num``, delete the others
        except the best by ``checkpoint_score_attr`` (higher is better; ``min-<attr>`` for lower).
        The newest is always kept too: a restart needs it."""
        trial.checkpoint, trial.checkpoint_iteration = path, iteration
        self._state_dirty = True
        keep = trial.keep_checkpoints_num
        if keep is None:
            return
        attr, sign = trial.checkpoint_score_attr, 1.0
        if attr.startswith("min-"):
            attr, sign = attr[4:], -1.0
        score = (trial.last_result or {}).get(attr)
        rank = sign * score if isinstance(score, (int, float)) else float(iteration)
        kept: list[tuple[float, int, str]] = trial.extra.setdefault("checkpoints", [])
        newest = (rank, iteration, path)
        kept.append(newest)
        best = sorted(kept, reverse=True)[:keep]
        survivors = best if newest in best else [*best, newest]
        for entry in kept:
            if entry not in survivors:
                shutil.rmtree(entry[2], ignore_errors=True)
        kept[:] = survivors

    # --- endings -------------------------------------------------------------------------------
    def _complete(self, trial: Trial) -> None:
        if trial.last_result is not None:
            trial.last_result["done"] = True
        self._scheduler.on_trial_complete(self, trial, trial.last_result)
        self._search_alg.on_trial_complete(trial.trial_id, trial.last_result)
        self._finish(trial, TERMINATED)

    def _on_failure(self, trial: Trial, error: str) -> None:
        trial.num_failures += 1
        trial.error_message = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        if trial.logdir is not None:
            Path(trial.logdir).mkdir(parents=True, exist_ok=True)
            path = Path(trial.logdir) / f"error_{trial.num_failures}.txt"
            path.write_text(error)
            trial.error_file = str(path)
        if trial.num_failures <= trial.max_failures:
            log.warning("trial %s failed (%d/%d), restarting: %s", trial.name, trial.num_failures,
                        trial.max_failures, trial.error_message)
            self._release(trial, PENDING)
            return
        self._scheduler.on_trial_error(self, trial)
        self._search_alg.on_trial_complete(trial.trial_id, trial.last_result, error=True)
        if self._observers is not None:
            self._observers.trial_error(trial, error)
        self._finish(trial, ERROR)

    def _release(self, trial: Trial, status: str) -> None:
        """Take the trial off its worker but keep it live (paused, or pending a restart)."""
        self._running.pop(trial.trial_id, None)
        self._used.add(trial.resources, -1)
        trial.status = status
        trial.extra.pop("pausing", None)
        self._state_dirty = True
        self._logs.trial_complete(trial)

    def _finish(self, trial: Trial, status: str) -> None:
        if trial.trial_id in self._running:
            self._release(trial, status)
        else:
            trial.status = status
            self._state_dirty = True
        self._live.pop(trial.trial_id, None)
        trial.compact()
        if self._observers is not None:
            self._observers.trial_complete(trial)
        if self._reporter is not None:
            self._reporter.trial_finished(trial)

    def stop_trial(self, trial: Trial) -> None:
        """Stop a trial, on the loop's own thread (a scheduler, a searcher); other threads send
        ``request(StopTrial(trial_id))``."""
        if trial.status == RUNNING:
            self._executor.stop_trial(trial.trial_id)
            self._search_alg.on_trial_complete(trial.trial_id, trial.last_result)
            self._scheduler.on_trial_remove(self, trial)
            self._finish(trial, TERMINATED)
        elif trial.status in (PENDING, PAUSED):
            self._scheduler.on_trial_remove(self, trial)
            self._finish(trial, TERMINATED)

    def _flush(self) -> None:
        self._last_flush = self._clock()
        self._logs.flush()

    def close(self) -> None:
        """Close the logs, then write the final state (see ``LogWriter.close``)."""
        self._save_state(force=True)
        self._logs.close()

    def _save_state(self, force: bool = False) -> None:
        """Queue a snapshot for ``experiment_state.json``: on status changes, at most every
        ``STATE_INTERVAL_S``, and at the end. The log writer writes it after flushing the logs, so
        the state never claims results the files do not hold yet."""
        if not self._experiments or not (self._state_dirty or force):
            return
        now = self._clock()
        if not force and now - self._last_state < STATE_INTERVAL_S:
            return
        self._last_state = now
        self._state_dirty = False
        from tune_core.state import pack, trial_record, write_state

        searcher = pack(self._search_alg.save())
        scheduler = pack(self._scheduler.save())
        by_experiment: dict[str, list[dict[str, Any]]] = {e.name: [] for e in self._experiments}
        for trial in self._trials:
            records = by_experiment.get(trial.experiment_name)
            if records is not None:
                records.append(trial_record(trial))
        for experiment in self._experiments:
            payload = {
                "experiment": experiment.name,
                "preexisting": sorted(self._preexisting.get(str(experiment.path), ())),
                "trainable_name": experiment.trainable_name,
                "spec": experiment.extra_state.get("spec_pickle"),
                "search_alg": experiment.extra_state.get("search_alg_pickle"),
                "scheduler_obj": experiment.extra_state.get("scheduler_pickle"),
                "searcher_state": searcher,
                "scheduler_state": scheduler,
                "trials": by_experiment[experiment.name],
            }
            self._logs.write_state_soon(str(experiment.path), payload, write_state)

    def _report(self, force: bool = False, finished: bool = False) -> None:
        if self._reporter is None or not self._reporter.due(force):
            return
        from tune_core.reporter import StatusSnapshot

        self._reporter.update(
            StatusSnapshot(
                trials=self._trials,
                scheduler_line=self._scheduler.debug_string(),
                used=self._used.as_resources(),
                total=self._total,
                logdirs=self._logdirs,
                total_trials=self._search_alg.total_trials(),
                finished=finished,
            ),
            force=force,
        )
