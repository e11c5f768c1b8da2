"""The event loop: take trials from the search algorithm, start them on the executor, route each
result to loggers, searcher and scheduler, and apply the scheduler's decisions.

Time as trials and schedulers see it comes in the results, which the executor fills (a simulator
from its virtual clock); the loop's own timers (log flushes, state snapshots) protect the disk and
run on real time. Everything the run keeps goes through the driver's storage
(``tune_core.storage``); the executor may run trials anywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_core.checkpoints import Checkpoint, read_metadata
from tune_core.checkpoints import rank as checkpoint_rank
from tune_core.checkpoints import retain as retain_checkpoints
from tune_core.commands import AddExperiment, AddTrial, Command, CommandQueue, ListTrials, StopTrial
from tune_core.errors import ExecutorLost, TuneError, closest, describe_callable
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
    TrialView,
)
from tune_core.logwriter import LogWriter
from tune_core.plugins.provenance import wrong_return
from tune_core.resources import ResourcePool, Resources
from tune_core.result import node_identity
from tune_core.storage import TrialStorage
from tune_core.trainable_registry import get_trainable
from tune_core.trial import ERROR, PAUSED, PENDING, RUNNING, TERMINATED, Trial, trial_dirname

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tune_core.experiment import Experiment
    from tune_core.plugins.observers import Observers

__all__ = ["TrialRunner"]

log = logging.getLogger("tune_core")

FLUSH_INTERVAL_S = 2.0
#: experiment_state.json is written at most this often (and at the end of the run).
STATE_INTERVAL_S = 0.5
#: How often the executor is asked for its total resources again (a cluster may lose or gain nodes).
CAPACITY_INTERVAL_S = 1.0
_LIVE = frozenset((PENDING, RUNNING, PAUSED))
_WAITING = frozenset((PENDING, PAUSED))
#: A trial asking for less CPU than this may fit where no CPU is free (see ``_could_start``).
_CPU_EPS = 1e-6
_SOME_CPU = Resources(cpu=_CPU_EPS)
#: The runner's own decision for a result that meets a callable stop criterion: finish normally.
_COMPLETE = "COMPLETE"


class TrialRunner(TrialRunnerView):
    """Runs the trials of one ``run_experiments`` call to the end."""

    def __init__(
        self,
        search_alg: SearchAlgorithm,
        scheduler: TrialScheduler,
        executor: Executor,
        loggers: Sequence[TrialLogger] = (),
        reporter: Any = None,
        observers: Observers | None = None,
        logdirs: Sequence[str] = (),
        max_pending_trials: int | None = None,
        experiments: Sequence[Experiment] = (),
        storage: TrialStorage | None = None,
    ):
        from tune_core.plugins.observers import Observers

        self._search_alg = search_alg
        self._scheduler = scheduler
        self._executor = executor
        self._storage = storage or TrialStorage()
        self._logs = LogWriter(loggers, self._storage)
        self._reporter = reporter
        self._observers = observers or Observers()
        self._logdirs = list(logdirs)
        total = self._total_resources()
        self._pool = ResourcePool(total)
        #: The most the executor has had: a trial that fits it is accepted even after a node is lost.
        self._most = total
        self._last_capacity = time.monotonic()
        self._executor_text = self._executor_line()
        self._trials: list[Trial] = []
        self._views: list[TrialView] = []
        self._by_id: dict[str, Trial] = {}
        self._live: dict[str, Trial] = {}
        #: The views of live trials that are not running (PENDING, PAUSED), in the order they were
        #: added once sorted (``_sort_waiting``); with their counts, so no step scans every live trial.
        self._waiting: dict[str, TrialView] = {}
        self._waiting_sorted = True
        self._order: dict[str, int] = {}
        self._num_pending = 0
        self._cpuless_waiting = 0
        self._commands = CommandQueue()
        self._running: dict[str, Trial] = {}
        slots = max(1, int(total.cpu))
        self._max_pending = max_pending_trials or max(16, 2 * slots)
        wanted = search_alg.max_pending_trials()
        if wanted is not None:
            if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 0:
                raise wrong_return("searcher", search_alg, "max_pending_trials", wanted, "None or an integer >= 0")
            self._max_pending = min(self._max_pending, wanted)
        #: 0: the search is asked for a trial only when it could start at once (a free CPU, none pending).
        self._ask_when_free = self._max_pending == 0
        # Flushes and state snapshots protect the disk, so they are throttled in real time, whatever
        # the executor's clock says (a simulator's virtual seconds pass much faster).
        self._last_flush = time.monotonic()
        self._experiments = list(experiments)
        self._state_dirty = True
        self._last_state = -STATE_INTERVAL_S
        self._interrupted = False
        #: The result batch being processed: [trial, results, logged, processed] (see ``_log_batch``).
        self._batch: list[Any] | None = None
        #: The trial a scheduler paused, stopped or restarted through this view while deciding.
        self._acted: Trial | None = None
        #: Trials whose run ended in the events being handled (a PAUSE for them comes too late).
        self._ending: set[str] = set()

    # --- TrialRunnerView: what schedulers read ---------------------------------------------------
    def get_trials(self) -> list[TrialView]:
        return self._views

    def get_trial(self, trial_id: str) -> TrialView | None:
        trial = self._by_id.get(trial_id)
        return None if trial is None else trial.view

    def trial_by_id(self, trial_id: str) -> Trial | None:
        """The runner's own trial with this id (ids are stable across resumes)."""
        return self._by_id.get(trial_id)

    def trials_with_status(self, *statuses: str) -> list[TrialView]:
        if _WAITING.issuperset(statuses):
            matching = self._num_pending if PENDING in statuses else 0
            if PAUSED in statuses:
                matching += len(self._waiting) - self._num_pending
            if not matching:
                return []
            if not self._waiting_sorted:
                self._sort_waiting()
            if matching == len(self._waiting):
                return list(self._waiting.values())  # Every waiting trial: a copy at C speed.
            return [v for v in self._waiting.values() if v._trial.status in statuses]
        if _LIVE.issuperset(statuses):
            return [t.view for t in self._live.values() if t.status in statuses]
        return [t.view for t in self._trials if t.status in statuses]

    def has_resources(self, resources: Resources) -> bool:
        return self._pool.free_for(resources) and self._executor.fits(resources)

    # --- TrialRunnerView: what schedulers do -----------------------------------------------------
    def _own(self, trial: TrialView | Trial, what: str) -> Trial:
        own = trial._trial if isinstance(trial, TrialView) else trial
        if not isinstance(own, Trial) or self._by_id.get(own.trial_id) is not own:
            raise TuneError(f"{what}: {trial!r} is not a trial of this run")
        return own

    def pause_trial(self, trial: TrialView | Trial) -> None:
        own = self._own(trial, "pause_trial")
        self._acted = own
        if own.status == RUNNING:
            self._pause(own)
        elif own.status == PENDING:
            self._set_status(own, PAUSED)
            self._state_dirty = True

    def stop_trial(self, trial: TrialView | Trial) -> None:
        """Stop a trial on the loop's own thread (a scheduler, a searcher); other threads send
        ``request(StopTrial(trial_id))``."""
        own = self._own(trial, "stop_trial")
        self._acted = own
        if own.status == RUNNING:
            self._log_batch(own)
            self._executor.stop_trial(own.trial_id)
        elif own.status not in (PENDING, PAUSED):
            return
        self._search_alg.on_trial_complete(own.trial_id, own.last_result)
        self._scheduler.on_trial_remove(self, own.view)
        self._finish(own, TERMINATED)

    def restart_trial(self, trial: TrialView | Trial, *, from_trial: TrialView | Trial,
                      config: Mapping[str, Any] | None = None, tag: str | None = None) -> None:
        own = self._own(trial, "restart_trial")
        source = self._own(from_trial, "restart_trial (from_trial)")
        if tag is not None and (not isinstance(tag, str) or not tag):
            raise TuneError(f"restart_trial: `tag` must be a non-empty string, got {tag!r}")
        if own.is_finished():
            raise TuneError(f"restart_trial: {own.name} has ended ({own.status}); only a live trial restarts")
        if source.checkpoint is None:
            raise TuneError(
                f"restart_trial: {source.name} has no checkpoint to restart {own.name} from yet; ask "
                "for one with runner.save_trial(trial) (or set checkpoint_freq) and restart after it came"
            )
        if own.logdir is None:
            own.logdir = self._make_logdir(own)
        path = self._storage.copy_checkpoint(source.checkpoint, str(own.logdir), source.checkpoint_iteration)
        was_running = own.status == RUNNING
        self._acted = own
        if was_running:
            self._log_batch(own)
            self._executor.stop_trial(own.trial_id)
            self._release(own, PENDING)
        own.checkpoint, own.checkpoint_iteration = path, source.checkpoint_iteration
        if config is not None:
            own.config = dict(config)
            own.record_static = None
        if tag is not None:
            own.experiment_tag = tag
            own.record_static = None
        self._state_dirty = True
        if was_running and self.has_resources(own.resources):
            self._start(own)

    def save_trial(self, trial: TrialView | Trial) -> bool:
        own = self._own(trial, "save_trial")
        if own.status != RUNNING or own.pausing:
            return False
        return bool(self._executor.save_trial(own.trial_id))

    # --- the loop -----------------------------------------------------------------------------
    def is_finished(self) -> bool:
        return not self._live and self._search_alg.is_finished() and self._commands.empty()

    def run(self) -> list[Trial]:
        self._report(force=True)
        try:
            while not self.is_finished() and not self._interrupted:
                self.step()
        except ExecutorLost:  # Its trials are gone with it: recorded as running, a resume continues them.
            self._stop_for_resume()
            self._flush()
            raise
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
            self._pool.give_back(trial.resources)
            self._logs.trial_complete(trial)

    def request(self, command: Command) -> Future[Any]:
        """Queue ``command`` from any thread; it is applied between two steps of the loop.

        The future resolves to the trial added or stopped (a list of trials for ``AddExperiment``,
        of ``trial_summary`` dicts for ``ListTrials``), or raises the ``TuneError`` that refused the
        command (an unknown trial id, a trial that can never fit, a bad spec).
        """
        return self._commands.put(command)

    def refuse_commands(self) -> None:
        """After the loop: answer what other threads still asked (a listing) or refuse it (a change)."""
        for command, future in self._commands.take_all():
            if not future.set_running_or_notify_cancel():
                continue
            if isinstance(command, ListTrials):
                from tune_core.control import trial_summary

                future.set_result([trial_summary(trial) for trial in self._trials])
            else:
                future.set_exception(TuneError("the experiment has finished"))

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

    def _apply(self, command: Command) -> Any:
        if isinstance(command, ListTrials):
            from tune_core.control import trial_summary

            return [trial_summary(trial) for trial in self._trials]
        if isinstance(command, AddExperiment):
            return self._add_experiment(command.name, command.spec)
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
        raise TuneError(f"unknown command {command!r}; allowed: AddTrial, AddExperiment, StopTrial, ListTrials")

    def _add_experiment(self, name: str, spec: Mapping[str, Any]) -> list[Trial]:
        """The trials of ``spec`` (every variant of its config), added under ``name``; checked whole
        before any is added. They join the state of the experiment of that name, or one of their own."""
        from tune_core.experiment import Experiment
        from tune_core.search.basic import BasicVariantGenerator

        if not isinstance(spec, Mapping):
            raise TuneError(f"experiment {name!r}: the spec must be a dict, got {type(spec).__name__}")
        running = next((e for e in self._experiments if e.name == name), None)
        default_dir = (running or (self._experiments[0] if self._experiments else None))
        given = dict(spec)
        if default_dir is not None:
            given.setdefault("local_dir", str(default_dir.local_dir))
        experiment = Experiment.from_spec(name, given)
        generator = BasicVariantGenerator()
        generator.add_configurations([experiment])
        trials = []
        while (trial := generator.next_trial()) is not None:
            trials.append(trial)
        for trial in trials:
            self._check_fits_at_all(trial)
        if running is None:
            experiment.check_local_dir()  # Its state is written from the next step on.
            self._experiments.append(experiment)
            self._logdirs.append(str(experiment.path))
        for trial in trials:
            self.add_trial(trial)
        return trials

    def step(self) -> None:
        self._apply_commands()
        self._add_new_trials()
        self._start_chosen()
        while self._num_pending == 0 and self._could_take_more() and self._add_new_trials():
            # A search that keeps few trials pending (a model-based one keeps one) fills every free
            # slot in this step: a trial started, so it is asked for the next one at once.
            self._start_chosen()
        timeout = 0.1 if self._running else 0.01
        events = self._executor.poll(timeout)
        if type(events) is not list:
            raise wrong_return("executor", self._executor, "poll", events, "a list of executor events")
        self._ending = {e.trial_id for e in events if isinstance(e, (TrialFinished, TrialFailed))}
        for event in events:
            if isinstance(event, TrialResults):
                self._on_results(event)
                continue
            trial = self._running.get(event.trial_id)
            if trial is None:
                continue  # A late event of a trial the runner already ended.
            if isinstance(event, TrialFinished):
                self._complete(trial)
            elif isinstance(event, TrialFailed):
                self._on_failure(trial, event.error)
            elif isinstance(event, TrialCheckpointed):
                self._on_checkpoint(trial, event.checkpoint)
            elif isinstance(event, TrialPaused):
                trial.pausing = False
                self._release(trial, PAUSED)
            else:
                raise wrong_return("executor", self._executor, "poll", event,
                                   "TrialResults, TrialCheckpointed, TrialPaused, TrialFinished, TrialFailed")
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self._flush()
        if now - self._last_capacity >= CAPACITY_INTERVAL_S:
            self._ask_executor_again()
        self._save_state()
        self._report()

    def _start_chosen(self) -> None:
        scheduler = self._scheduler
        while self._could_start() and (chosen := scheduler.choose_trial_to_run(self)) is not None:
            own = chosen._trial if isinstance(chosen, TrialView) else chosen
            if (not isinstance(own, Trial) or self._by_id.get(own.trial_id) is not own
                    or own.status not in (PENDING, PAUSED) or not self.has_resources(own.resources)):
                raise wrong_return("scheduler", scheduler, "choose_trial_to_run", chosen,
                                   "None, or a PENDING or PAUSED trial of this run whose resources are free")
            self._start(own)

    def _could_start(self) -> bool:
        """Whether a waiting trial might fit now. When none can, ``choose_trial_to_run`` could only
        return None, and is not asked: with every slot taken, a step costs nothing per waiting trial."""
        if not self._waiting:
            return False
        return self._cpuless_waiting > 0 or self._pool.free_for(_SOME_CPU)

    def _could_take_more(self) -> bool:
        """Whether a new trial that asks for a CPU could start now."""
        return self._pool.free_for(_SOME_CPU) and not self._search_alg.is_finished()

    def _add_new_trials(self) -> int:
        """Ask the search for trials while few enough are pending; how many it gave."""
        search = self._search_alg
        added = 0
        while (self._num_pending < self._max_pending or (
                self._ask_when_free and self._num_pending == 0 and self._pool.free_for(_SOME_CPU))
               ) and not search.is_finished():
            trial = search.next_trial()
            if trial is None:
                break
            if not isinstance(trial, Trial) or trial.trial_id in self._by_id:
                raise wrong_return("searcher", search, "next_trial", trial,
                                   "None, or a new trial made with Experiment.make_trial (every trial "
                                   "id once)")
            self.add_trial(trial)
            added += 1
        return added

    def add_trial(self, trial: Trial) -> None:
        """Add a trial (from the searcher, or from outside the loop) as PENDING."""
        self._check_fits_at_all(trial)
        self._trials.append(trial)
        self._views.append(trial.view)
        self._by_id[trial.trial_id] = trial
        self._order[trial.trial_id] = len(self._order)
        if not trial.is_finished():
            self._live[trial.trial_id] = trial
            if trial.status in _WAITING:
                self._enter_waiting(trial)
        self._scheduler.on_trial_add(self, trial.view)
        self._state_dirty = True
        if self._pool.total != self._most and trial.trial_id in self._waiting:  # A node was lost.
            self._give_up_if_too_big(trial)

    def _total_resources(self) -> Resources:
        total = self._executor.total_resources()
        if not isinstance(total, Resources):
            raise wrong_return("executor", self._executor, "total_resources", total,
                               "a tune_core.interfaces.Resources")
        return total

    def _ask_executor_again(self) -> None:
        """Its total resources and its status line, as they are now (a cluster may have lost a node)."""
        self._last_capacity = time.monotonic()
        self._update_capacity(self._total_resources())
        text = self._executor_line()
        if text != self._executor_text:
            self._executor_text, self._state_dirty = text, True

    def _update_capacity(self, total: Resources) -> None:
        """Take the executor's total as it is now. Below the most it had (a cluster lost a node),
        waiting trials that no longer fit at all end in ERROR, saying so, instead of waiting forever."""
        pool = self._pool
        if total == pool.total:
            return
        pool.total = total
        self._most = pool.widest(self._most)
        if total == self._most:
            return
        for trial in [self._by_id[view.trial_id] for view in self._waiting.values()]:
            self._give_up_if_too_big(trial)

    def _give_up_if_too_big(self, trial: Trial) -> None:
        problems = self._pool.shortfall(trial.resources)
        if problems:
            self._give_up(trial, f"tune_core.errors.TuneError: trial {trial.name} can no longer run: it needs "
                                 f"{'; '.join(problems)} now (the executor's resources shrank, e.g. a lost node)\n")

    def _give_up(self, trial: Trial, error: str) -> None:
        """End a waiting (PENDING or PAUSED) trial in ERROR, with ``error`` in its error file."""
        trial.num_failures += 1
        trial.error_message = error.strip().splitlines()[-1]
        if trial.logdir is not None:
            trial.error_file = self._storage.write_error(str(trial.logdir), trial.num_failures, error)
        self._observers.trial_error(trial.view, error, False)
        self._search_alg.on_trial_complete(trial.trial_id, trial.last_result, error=True)
        self._scheduler.on_trial_remove(self, trial.view)
        self._finish(trial, ERROR)

    def _check_fits_at_all(self, trial: Trial) -> None:
        problems = self._pool.shortfall(trial.resources, self._most)
        if problems:
            raise TuneError(
                f"trial {trial.name} can never run: it needs {'; '.join(problems)}. Lower the trial's "
                "`resources`, or declare more with executor_config (e.g. {'num_cpus': 8})"
            )

    # --- starting ------------------------------------------------------------------------------
    def _start(self, trial: Trial) -> None:
        """Hand the trial to the executor: its first start, or a restart from its latest checkpoint."""
        restart_from: int | None = None
        first = trial.logdir is None
        if first:
            trial.logdir = self._make_logdir(trial)
        if trial.adopted_logdir:  # Left by a killed attempt of this very trial: start it clean.
            trial.adopted_logdir = False
            restart_from = 0
        elif not first:
            # A restart from its checkpoint (its own, or one restart_trial copied from another
            # trial): the logs are cut back to that iteration; what comes after is reported anew.
            restart_from = trial.checkpoint_iteration if trial.checkpoint else 0
            trial.num_results = min(trial.num_results, restart_from)
        if restart_from is not None:
            # Before the trial runs again: later, its new run may be writing a checkpoint already.
            self._storage.prepare_restart(str(trial.logdir))
        self._set_status(trial, RUNNING)
        trial.run_count += 1
        trial.locating = True
        self._state_dirty = True
        self._running[trial.trial_id] = trial
        self._pool.take(trial.resources)
        self._logs.trial_start(trial, restart_from)
        stop = trial.stopping_criterion
        restore = trial.latest_checkpoint()
        if restore is None and trial.restore_path:
            restore = Checkpoint(read_metadata(trial.restore_path).iteration, path=trial.restore_path)
        trainable = trial.trainable if trial.trainable is not None else get_trainable(trial.trainable_name)
        launch = TrialLaunch(
            trial_id=trial.trial_id,
            trainable_name=trial.trainable_name,
            trainable=trainable,
            config=trial.config,
            logdir=str(trial.logdir),
            resources=trial.resources,
            stop=dict(stop) if isinstance(stop, dict) else {},
            decision_point=self._decision_point(trial),
            experiment_id=trial.experiment_id,
            checkpoint_freq=trial.checkpoint_freq,
            checkpoint_at_end=trial.checkpoint_at_end,
            restore=restore,
        )
        location = self._executor.start_trial(launch)
        if not isinstance(location, str):
            raise wrong_return("executor", self._executor, "start_trial", location, "a str saying where it runs")
        trial.location = location
        self._observers.trial_start(trial.view)

    def _make_logdir(self, trial: Trial) -> Path:
        """Choose the trial's directory in the driver's storage (created by the log writer)."""
        path, trial.adopted_logdir = self._storage.trial_dir(str(trial.experiment_dir), trial_dirname(trial),
                                                             trial.trial_id)
        return Path(path)

    def set_preexisting(self, experiment_dir: str, names: set[str], claimed: set[str]) -> None:
        """On resume: the names there before the first run, and those the state's trials own."""
        self._storage.set_preexisting(experiment_dir, names, claimed)

    def _decision_point(self, trial: Trial) -> DecisionPoint | None:
        if callable(trial.stopping_criterion) and not isinstance(trial.stopping_criterion, dict):
            return EVERY_RESULT
        point = self._scheduler.decision_point(trial.view)
        if point is not None and type(point) is not DecisionPoint:
            raise wrong_return("scheduler", self._scheduler, "decision_point", point,
                               "None or a tune_core.interfaces.DecisionPoint")
        return point

    # --- results -------------------------------------------------------------------------------
    def _on_results(self, event: TrialResults) -> None:
        trial = self._running.get(event.trial_id)
        if trial is None:
            return
        results = event.results
        run = trial.run_count
        batch = self._batch = [trial, results, 0, 0]
        try:
            for index, result in enumerate(results):
                batch[3] = index + 1
                self._acted = None
                decision = self._process_result(trial, result)
                if trial.run_count != run or trial.status != RUNNING:
                    return  # The scheduler ended or restarted this run itself; the rest is stale.
                if self._acted is trial:
                    continue  # It paused the trial itself: the decision it returned is void.
                if decision != CONTINUE:
                    self._log_batch(trial)
                    self._apply_decision(trial, decision)
                    if trial.status != RUNNING:
                        return
                    # Pausing (or a pause that came after the trial ended): it runs on until it
                    # has checkpointed, and what it reports until then counts.
            self._log_batch(trial)
            if event.waiting and not trial.pausing:
                self._executor.continue_trial(trial.trial_id, self._decision_point(trial))
        finally:
            self._batch = None
            self._acted = None

    def _log_batch(self, trial: Trial) -> None:
        """Hand the results of ``trial`` processed so far in this batch to the log writer.

        Called before anything that ends or restarts the trial's run, so its files get every result
        it reported before the logs close or restart.
        """
        batch = self._batch
        if batch is None or batch[0] is not trial or batch[3] <= batch[2]:
            return
        results = batch[1]
        self._logs.trial_results(trial, results if batch[2] == 0 and batch[3] == len(results)
                                 else results[batch[2]:batch[3]])
        batch[2] = batch[3]

    def _process_result(self, trial: Trial, result: dict[str, Any]) -> str:
        if trial.locating:
            trial.locating = False
            trial.location = _location(result) or trial.location
            self._check_objectives(trial, result)
        trial.update_last_result(result)
        self._search_alg.on_trial_result(trial.trial_id, result)
        self._observers.trial_result(trial.view, result)
        if result.get("done"):
            return CONTINUE  # The trial ends by itself; TrialFinished follows.
        stop = trial.stopping_criterion
        if callable(stop) and not isinstance(stop, dict) and _call_stop(stop, trial, result):
            result["done"] = True
            return _COMPLETE
        if trial.pausing:
            return CONTINUE  # Already asked to pause; results it sent before pausing are kept.
        return self._scheduler.on_trial_result(self, trial.view, result)

    def _check_objectives(self, trial: Trial, result: dict[str, Any]) -> None:
        """A run's first result must carry the metric the scheduler and searcher decide by: a
        misspelt metric otherwise goes unnoticed while they decide on nothing."""
        for role, component in (("scheduler", self._scheduler), ("search algorithm", self._search_alg)):
            metric = getattr(component, "metric", None)
            if metric is None or metric in result:
                continue
            from tune_core.result import AUTO_FIELDS

            reported = sorted(k for k in result if k not in AUTO_FIELDS) or ["(only the automatic fields)"]
            hint = closest(metric, list(result))
            raise TuneError(
                f"trial {trial.name} reported a result without {metric!r}, the `metric` of this run's "
                f"{role} ({type(component).__name__})"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; the result has: {', '.join(reported)}. Report {metric!r} from the trainable, "
                "or give the metric it does report (`metric=`)"
            )

    def _apply_decision(self, trial: Trial, decision: str) -> None:
        if decision == PAUSE:
            if trial.trial_id not in self._ending:  # A trial that already ended is not paused.
                self._pause(trial)
        elif decision == STOP:
            self._executor.stop_trial(trial.trial_id)
            self._search_alg.on_trial_complete(trial.trial_id, trial.last_result)
            self._scheduler.on_trial_remove(self, trial.view)
            self._finish(trial, TERMINATED)
        elif decision == _COMPLETE:
            self._executor.stop_trial(trial.trial_id)
            self._complete(trial)
        else:
            raise wrong_return("scheduler", self._scheduler, "on_trial_result", decision, "CONTINUE, PAUSE, STOP")

    def _pause(self, trial: Trial) -> None:
        """The trial saves a checkpoint where it is and frees its slot; ``TrialPaused`` follows."""
        if trial.pausing:
            return
        if self._executor.pause_trial(trial.trial_id):
            trial.pausing = True
            return
        self._log_batch(trial)
        self._executor.stop_trial(trial.trial_id)
        self._release(trial, PAUSED)

    def _on_checkpoint(self, trial: Trial, checkpoint: Checkpoint) -> None:
        """Record the trial's newest checkpoint; with ``keep_checkpoints_num``, delete the others
        except the best by ``checkpoint_score_attr`` (higher is better; ``min-<attr>`` for lower).
        The newest is always kept too: a restart needs it."""
        path = self._storage.store_checkpoint(str(trial.logdir), checkpoint)
        iteration = checkpoint.iteration
        trial.checkpoint, trial.checkpoint_iteration = path, iteration
        self._state_dirty = True
        keep = trial.keep_checkpoints_num
        if keep is None:
            return
        attr = trial.checkpoint_score_attr
        score = (trial.last_result or {}).get(attr[4:] if attr.startswith("min-") else attr)
        newest = (checkpoint_rank(score, iteration, attr), iteration, path)
        kept = [entry for entry in trial.kept_checkpoints if entry[2] != path]
        survivors, doomed = retain_checkpoints(kept, newest, keep)
        for entry in doomed:
            self._storage.delete_checkpoint(entry[2])
        trial.kept_checkpoints = survivors

    # --- endings -------------------------------------------------------------------------------
    def _complete(self, trial: Trial) -> None:
        if trial.last_result is not None:
            trial.last_result["done"] = True
        self._scheduler.on_trial_complete(self, trial.view, trial.last_result)
        self._search_alg.on_trial_complete(trial.trial_id, trial.last_result)
        self._finish(trial, TERMINATED)

    def _on_failure(self, trial: Trial, error: str) -> None:
        self._ask_executor_again()  # A failure may be a lost node: look before a retry.
        trial.num_failures += 1
        trial.error_message = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        if trial.logdir is not None:
            trial.error_file = self._storage.write_error(str(trial.logdir), trial.num_failures, error)
        will_retry = trial.num_failures <= trial.max_failures
        self._observers.trial_error(trial.view, error, will_retry)
        if will_retry:
            log.warning("trial %s failed (%d/%d), restarting: %s", trial.name, trial.num_failures,
                        trial.max_failures, trial.error_message)
            self._release(trial, PENDING)
            return
        self._finish(trial, ERROR)
        self._scheduler.on_trial_error(self, trial.view)
        self._search_alg.on_trial_complete(trial.trial_id, trial.last_result, error=True)

    def _release(self, trial: Trial, status: str) -> None:
        """Take the trial off its executor slot but keep it live (paused, or pending a restart)."""
        self._running.pop(trial.trial_id, None)
        self._pool.give_back(trial.resources)
        self._set_status(trial, status)
        trial.pausing = False
        self._state_dirty = True
        self._logs.trial_complete(trial)
        if status in _WAITING and self._pool.total != self._most:  # A node was lost: may it still run?
            self._give_up_if_too_big(trial)

    def _finish(self, trial: Trial, status: str) -> None:
        if trial.trial_id in self._running:
            self._release(trial, status)
        else:
            self._set_status(trial, status)
            self._state_dirty = True
        self._live.pop(trial.trial_id, None)
        trial.compact()
        if status == TERMINATED:
            self._observers.trial_complete(trial.view)
        if self._reporter is not None:
            self._reporter.trial_finished(trial)

    # --- statuses -----------------------------------------------------------------------------
    def _set_status(self, trial: Trial, status: str) -> None:
        """Change ``trial.status``, keeping the index of waiting trials and its counts right."""
        old, trial.status = trial.status, status
        if trial.trial_id not in self._waiting:
            if status in _WAITING and trial.trial_id in self._live:
                self._enter_waiting(trial)
            return
        if old == PENDING:
            self._num_pending -= 1
        if status in _WAITING:
            self._num_pending += status == PENDING
            return
        del self._waiting[trial.trial_id]
        if trial.resources.total_cpu < _CPU_EPS:
            self._cpuless_waiting -= 1

    def _enter_waiting(self, trial: Trial) -> None:
        waiting, order = self._waiting, self._order
        if waiting and order[next(reversed(waiting))] > order[trial.trial_id]:
            self._waiting_sorted = False  # A trial waits again (a pause, a retry): sort before reading.
        waiting[trial.trial_id] = trial.view
        self._num_pending += trial.status == PENDING
        if trial.resources.total_cpu < _CPU_EPS:
            self._cpuless_waiting += 1

    def _sort_waiting(self) -> None:
        order = self._order
        self._waiting = dict(sorted(self._waiting.items(), key=lambda item: order[item[0]]))
        self._waiting_sorted = True

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
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
        now = time.monotonic()
        if not force and now - self._last_state < STATE_INTERVAL_S:
            return
        self._last_state = now
        self._state_dirty = False
        from tune_core.state import ExperimentState, pack

        searcher = pack(self._search_alg.save(), "the search algorithm's state (save())")
        scheduler = pack(self._scheduler.save(), "the scheduler's state (save())")
        by_experiment: dict[str, list[Trial]] = {e.name: [] for e in self._experiments}
        for trial in self._trials:
            group = by_experiment.get(trial.experiment_name)
            if group is not None:
                group.append(trial)
        for experiment in self._experiments:
            state = ExperimentState.of_run(
                experiment, by_experiment[experiment.name],
                preexisting=self._storage.preexisting(str(experiment.path)),
                searcher_state=searcher, scheduler_state=scheduler, executor=self._executor_text,
            )
            self._logs.write_state_soon(str(experiment.path), state)

    def _executor_line(self) -> str:
        line = self._executor.status_line()
        if not isinstance(line, str):
            raise wrong_return("executor", self._executor, "status_line", line, "a str")
        return line

    def _report(self, force: bool = False, finished: bool = False) -> None:
        if self._reporter is None or not self._reporter.due(force):
            return
        from tune_core.reporter import StatusSnapshot

        line = self._scheduler.debug_string()
        if not isinstance(line, str):
            raise wrong_return("scheduler", self._scheduler, "debug_string", line, "a str")
        self._reporter.update(
            StatusSnapshot(
                trials=self._trials,
                scheduler_line=line,
                used=self._pool.used(),
                total=self._pool.total,
                executor_line=self._executor_text,
                logdirs=self._logdirs,
                total_trials=self._search_alg.total_trials(),
                finished=finished,
            ),
            force=force,
        )


def _call_stop(stop: Callable[[str, dict[str, Any]], Any], trial: Trial, result: dict[str, Any]) -> bool:
    """The user's ``stop(trial_id, result)``; its exception ends the run, naming the function."""
    try:
        return bool(stop(trial.trial_id, result))
    except Exception as exc:
        raise TuneError(
            f"the `stop` function {describe_callable(stop)} raised {type(exc).__name__}: {exc} "
            f"on a result of trial {trial.name} (iteration {result.get('training_iteration')})"
        ) from exc


def _location(result: Mapping[str, Any]) -> str | None:
    """``pid=1234`` for a trial on this machine, ``host pid=1234`` for one elsewhere, ``node pid=1234``
    where the executor names its nodes (the ``node`` field: a Ray node, say)."""
    pid, host = result.get("pid"), result.get("hostname")
    if pid is None:
        return None
    node = result.get("node")
    if node is not None:
        return f"{node} pid={pid}"
    return f"pid={pid}" if host in (None, node_identity()[0]) else f"{host} pid={pid}"
