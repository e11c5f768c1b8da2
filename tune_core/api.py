"""The user's entry points: ``run_experiments`` (the seed's form) and ``run`` (one call, one experiment).

Here names become objects (``scheduler="median-stopping"`` -> an instance, through the plugin
registry), so the runner only ever sees resolved components.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tune_core import options
from tune_core.control import ExperimentControl
from tune_core.errors import ExecutorLost, TuneError
from tune_core.experiment import Experiment, convert_to_experiment_list
from tune_core.interfaces import (
    Executor,
    SearchAlgorithm,
    Searcher,
    Service,
    TrialLogger,
    TrialScheduler,
)
from tune_core.plugins.provenance import blame, wrong_return
from tune_core.trial import ERROR, Trial

if TYPE_CHECKING:
    from tune_core.analysis import ExperimentAnalysis
    from tune_core.plugins.kinds import Kind
    from tune_core.state import ExperimentState

__all__ = ["run", "run_experiments"]

log = logging.getLogger("tune_core")
_F = TypeVar("_F", bound=Callable[..., Any])


def _user_facing(func: _F) -> _F:
    """Raise a ``TuneError`` to the caller from here: its message names the culprit, and the
    runner's frames and chained causes would only bury it (``TUNE_TRACEBACK=1`` keeps them)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TuneError as exc:
            if os.environ.get("TUNE_TRACEBACK"):
                raise
            raise exc.with_traceback(None) from None

    return cast(_F, wrapper)


@_user_facing
def run_experiments(
    experiments: Any,
    scheduler: TrialScheduler | str | None = None,
    search_alg: SearchAlgorithm | Searcher | str | None = None,
    with_server: bool = False,
    server_port: int = 4321,
    verbose: int | bool = 1,
    raise_on_failed_trial: bool = True,
    executor: Executor | str | None = None,
    *,
    scheduler_config: Mapping[str, Any] | None = None,
    search_alg_config: Mapping[str, Any] | None = None,
    executor_config: Mapping[str, Any] | None = None,
    loggers: Sequence[str | TrialLogger] | None = None,
    logger_config: Mapping[str, Mapping[str, Any]] | None = None,
    metric: str | None = None,
    mode: str | None = None,
    queue_trials: bool = False,
    resume: bool = False,
) -> list[Trial]:
    """Run experiments to the end and return their trials.

    Args:
        experiments: a dict ``{name: spec}``, an ``Experiment``, or a list of them.
        scheduler: a ``TrialScheduler`` or a registered name (``"fifo"``, ``"median-stopping"``,
            plugins' names); ``scheduler_config`` holds a named scheduler's arguments.
        search_alg: a ``SearchAlgorithm``, a model-based ``Searcher``, or a registered name.
        verbose: 0 prints only errors, 1 the status block, 2 also a line per finished trial.
        raise_on_failed_trial: raise ``TuneError`` at the end if any trial ended in ERROR.
        executor: where trials run: ``"local"`` (default, worker processes) or a plugin's name;
            ``executor_config`` holds its arguments, e.g. ``{"num_cpus": 4, "num_gpus": 1}``.
        loggers: logger names or instances (default: every logger that is on by default).
        logger_config: arguments for loggers given by name, ``{"tensorboard": {"exclude": ["pid", "timestamp"]}}``.
        metric, mode: the objective, handed to the scheduler and searcher unless they set their own.
        with_server, server_port: serve the Client API (list, add and stop trials) on this port while
            the run goes: the service named ``server`` (the tune-server plugin), given the run's
            ``tune_core.control.ExperimentControl``.
        resume: continue the experiments from their ``experiment_state.json`` (finished trials stay
            done, the others go on from their latest checkpoint); without a state, start fresh.

    Raises:
        TuneError: bad input (naming the key, value, path or plugin), or trials that ended in ERROR
            when ``raise_on_failed_trial``.
        KeyboardInterrupt: after a Ctrl-C, once the trials are stopped and the state is saved; the
            line printed before it says how to resume.
    """
    _check_mode(mode)
    verbose = _check_arguments(verbose=verbose, raise_on_failed_trial=raise_on_failed_trial, resume=resume,
                               with_server=with_server, queue_trials=queue_trials, metric=metric)
    services = {"server": {"port": server_port}} if with_server else {}
    if services:  # Before anything starts: a service that is not installed says what to install.
        from tune_core.plugins.registry import lookup

        for name in services:
            lookup("service", name)
    exps = convert_to_experiment_list(experiments)
    names = [e.name for e in exps]
    if len(set(names)) != len(names):
        raise TuneError(f"experiment names must be unique, got {names}")
    states = _load_states(exps) if resume else {}
    sched: TrialScheduler = _resolve("scheduler", scheduler, scheduler_config, TrialScheduler)
    if search_alg is None and not search_alg_config:
        search_alg = _search_of(sched)
    search: SearchAlgorithm = _resolve("search_alg", search_alg, search_alg_config, SearchAlgorithm)
    components: list[tuple[str, Any]] = [("scheduler", sched), ("searcher", search),
                                         ("searcher", getattr(search, "searcher", None))]
    with blame(components):
        sched.set_search_properties(metric, mode)
        search.set_search_properties(metric, mode)
        _remember_components(exps, search, sched)  # As they are before any experiment is added.
        search.add_configurations(exps)
        restored = _restore(states, exps, search, sched)
        search.is_finished()  # Makes the first trial: a search space that cannot be resolved fails here.
    logger_objs = _resolve_loggers(loggers, logger_config)
    execu: Executor = _resolve("executor", executor, executor_config, Executor)
    components.append(("executor", execu))
    from tune_core.plugins.observers import Observers
    from tune_core.reporter import StatusReporter
    from tune_core.runner import TrialRunner

    runner: TrialRunner | None = None
    control: ExperimentControl | None = None
    started: list[Any] = []  # the services running beside the run
    lost: ExecutorLost | None = None
    reporter: StatusReporter | None = None
    previous: Any = None
    try:  # From here on the executor may hold workers: whatever fails, they are shut down.
        for exp in exps:  # Only a run that can start writes anything.
            exp.check_local_dir()
        _keep_earlier_runs(exps, states, verbose)
        # The executor as soon as the number of trials is known: its workers boot while the rest is set up.
        with blame(components):
            execu.prepare(search.total_trials())
        components += [("logger", logger) for logger in logger_objs]
        observers = Observers.from_plugins()
        reporter = StatusReporter(verbose=verbose, metric=metric, mode=mode)
        with blame(components):
            runner = TrialRunner(
                search, sched, execu, loggers=logger_objs, reporter=reporter,
                observers=observers, logdirs=[str(e.path) for e in exps], experiments=exps,
            )
        for exp in exps:
            if exp.name in states:
                claimed = {Path(t.logdir).name for t in restored if t.logdir and t.experiment_name == exp.name}
                runner.set_preexisting(str(exp.path), set(states[exp.name].preexisting), claimed)
        observers.experiment_start(exps)
        control = ExperimentControl(runner, [str(e.path) for e in exps])
        for name, config in services.items():
            started.append(_start_service(name, control, config))
        previous = _catch_first_sigint(runner)
        with blame(components):
            for trial in restored:
                runner.add_trial(trial)
            try:
                trials = runner.run()
            except ExecutorLost as exc:
                lost = exc
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if control is not None:
            control.end()
        for service in started:
            _close_service(service)
        execu.shutdown()
        if runner is not None:
            runner.close()
        if reporter is not None:
            reporter.close()
    if lost is not None:  # The state keeps the running trials as running: a resume goes on with them.
        from tune_core.logwriter import wait_for_pending_writes

        wait_for_pending_writes()
        dirs = " ".join(shlex.quote(str(e.path)) for e in exps)
        raise TuneError(f"{lost}\nthe experiment state is saved; resume it with: tune-core resume {dirs} "
                        "(add --executor NAME --executor-config JSON to go on elsewhere)") from lost
    observers.experiment_end([t.view for t in trials])
    if runner.interrupted:  # Like any Python code, a Ctrl-C ends in KeyboardInterrupt, once the state is saved.
        from tune_core.logwriter import wait_for_pending_writes

        wait_for_pending_writes()
        dirs = " ".join(shlex.quote(str(e.path)) for e in exps)
        finished = sum(t.is_finished() for t in trials)
        line = (f"interrupted: {finished} of {max(len(trials), search.total_trials() or 0)} trials finished; "
                f"resume with: tune-core resume {dirs}")
        print(f"tune-core: {line}", file=sys.stderr)
        raise KeyboardInterrupt(line)
    failed = [t for t in trials if t.status == ERROR]
    if failed and raise_on_failed_trial:
        details = "; ".join(f"{t.name}: {t.error_message} (see {t.error_file})" for t in failed[:5])
        raise TuneError(f"Trials did not complete: {len(failed)} of {len(trials)} ended in ERROR: {details}")
    return trials


@_user_facing
def run(
    trainable: Any,
    config: Mapping[str, Any] | None = None,
    stop: Mapping[str, float] | Callable[[str, dict[str, Any]], bool] | None = None,
    num_samples: int = 1,
    metric: str | None = None,
    mode: str | None = None,
    scheduler: TrialScheduler | str | None = None,
    search_alg: SearchAlgorithm | Searcher | str | None = None,
    resources: Mapping[str, Any] | None = None,
    local_dir: str | None = None,
    name: str | None = None,
    verbose: int | bool = 1,
    *,
    executor: Executor | str | None = None,
    executor_config: Mapping[str, Any] | None = None,
    scheduler_config: Mapping[str, Any] | None = None,
    search_alg_config: Mapping[str, Any] | None = None,
    loggers: Sequence[str | TrialLogger] | None = None,
    checkpoint_freq: int = 0,
    checkpoint_at_end: bool = False,
    keep_checkpoints_num: int | None = None,
    checkpoint_score_attr: str = "training_iteration",
    max_failures: int = 0,
    restore: str | None = None,
    raise_on_failed_trial: bool = True,
    resources_per_trial: Mapping[str, Any] | None = None,
    resume: bool = False,
) -> ExperimentAnalysis:
    """Tune one trainable and return an ``ExperimentAnalysis`` of its results.

    Example:
        >>> analysis = tune_core.run(train_func, config={"lr": tune_core.loguniform(1e-4, 1e-1)},
        ...                          num_samples=20, metric="mean_accuracy", mode="max")  # doctest: +SKIP
        >>> analysis.best_config  # doctest: +SKIP
    """
    _check_mode(mode)
    exp_name = name or str(trainable if isinstance(trainable, str) else getattr(trainable, "__name__", "experiment"))
    if resources is not None and resources_per_trial is not None:
        raise TuneError("`resources` and `resources_per_trial` mean the same; give one of them, not both "
                        f"(got resources={resources!r} and resources_per_trial={resources_per_trial!r})")
    experiment = Experiment(
        exp_name, run=trainable, stop=stop, config=config,
        resources=resources if resources is not None else resources_per_trial,
        num_samples=num_samples, local_dir=local_dir, checkpoint_freq=checkpoint_freq,
        checkpoint_at_end=checkpoint_at_end, keep_checkpoints_num=keep_checkpoints_num,
        checkpoint_score_attr=checkpoint_score_attr, max_failures=max_failures, restore=restore,
    )
    trials = run_experiments(
        experiment, scheduler=scheduler, search_alg=search_alg, verbose=verbose,
        raise_on_failed_trial=raise_on_failed_trial, executor=executor,
        scheduler_config=scheduler_config, search_alg_config=search_alg_config,
        executor_config=executor_config, loggers=loggers, metric=metric, mode=mode, resume=resume,
    )
    from tune_core.analysis import ExperimentAnalysis

    return ExperimentAnalysis(str(experiment.path), default_metric=metric, default_mode=mode, trials=trials)


def _load_states(exps: list[Experiment]) -> dict[str, ExperimentState]:
    from tune_core.logwriter import wait_for_pending_writes
    from tune_core.state import ExperimentState

    wait_for_pending_writes()  # An earlier run in this process may still be writing its last state.
    states = {}
    for exp in exps:
        state = ExperimentState.load(exp.path)
        if state is not None:
            states[exp.name] = state
            if state.moved_from:
                log.info("%s was moved from %s: its trials resume where it is now", exp.path, state.moved_from)
            for stale in exp.path.glob("experiment_state.json.*.tmp"):  # left by a killed driver
                stale.unlink(missing_ok=True)
        else:
            log.info("no experiment state in %s; starting %r fresh", exp.path, exp.name)
    return states


def _restore(states: dict[str, ExperimentState], exps: list[Experiment], search: SearchAlgorithm,
             sched: TrialScheduler) -> list[Trial]:
    """Trials, searcher and scheduler as the saved states left them."""
    if not states:
        return []
    from tune_core.trial import PAUSED, PENDING, RUNNING

    first = next(iter(states.values()))
    searcher_state, scheduler_state = first.saved_searcher_state(), first.saved_scheduler_state()
    if searcher_state is not None:
        search.restore(searcher_state)
    if scheduler_state is not None:
        sched.restore(scheduler_state)
    trials = []
    for exp in exps:
        state = states.get(exp.name)
        for trial in state.restore_trials(exp.make_trial) if state is not None else ():
            if trial.status == RUNNING:
                trial.status = PENDING
            elif trial.status not in (PENDING, PAUSED):
                trial.compact()
            trials.append(trial)
    return trials


def _remember_components(exps: list[Experiment], search: SearchAlgorithm, sched: TrialScheduler) -> None:
    """Pickle what ``tune-core resume`` needs to rebuild the run, for the state files."""
    from tune_core.state import import_root, pack

    search_blob, sched_blob = pack(search, "the search algorithm"), pack(sched, "the scheduler")
    for exp in exps:
        root = import_root(exp.trainable)  # A resume from another directory imports the trainable from here.
        exp.extra_state.update(
            import_paths=[root] if root else [],
            spec_pickle=pack({"name": exp.name, "run": exp.trainable,
                              "trainable_name": exp.trainable_name, **exp.spec}, f"experiment {exp.name!r}"),
            search_alg_pickle=search_blob,
            scheduler_pickle=sched_blob,
        )


def _keep_earlier_runs(exps: list[Experiment], states: Mapping[str, ExperimentState], verbose: int) -> None:
    """A run that does not resume an experiment's state starts beside what earlier runs left: set their
    state aside (``experiment_state-<time>.json``, still resumable) and say so in one line."""
    from tune_core.analysis import trial_dirs
    from tune_core.logwriter import wait_for_pending_writes
    from tune_core.state import progress_in, set_aside

    wait_for_pending_writes()  # An earlier run in this process may still be writing its last state.
    for exp in exps:
        if exp.name in states or not exp.path.is_dir():
            continue
        damaged: str | None = None
        try:
            progress = progress_in(exp.path)
        except TuneError as exc:
            progress, damaged = None, str(exc)
        kept = set_aside(exp.path)
        count = len(trial_dirs(exp.path))
        unfinished = progress is not None and progress[0] < progress[1]
        if kept is None or not (unfinished or damaged):
            if count and verbose:
                print(f"tune-core: {exp.path} holds {count} trial directories of earlier runs; this run adds "
                      f"its own beside them (`tune-core ls {exp.path}` shows the latest run)", file=sys.stderr)
            continue
        if progress is None:
            print(f"tune-core: the earlier state in {exp.path} is kept, unread, as {kept.name}: {damaged}",
                  file=sys.stderr)
            continue
        print(f"tune-core: the earlier run in {exp.path} was unfinished ({progress[0]} of {progress[1]} trials "
              f"finished); its state is kept as {kept.name}; resume it with: tune-core resume "
              f"{shlex.quote(str(kept))}", file=sys.stderr)


def _start_service(name: str, control: ExperimentControl, config: dict[str, Any]) -> Service:
    """Make the service registered as ``name`` with the run's control; a clear error if it is not one."""
    from tune_core.plugins.registry import instantiate, lookup

    service = instantiate(lookup("service", name), control=control, **config)
    if not isinstance(service, Service):
        raise wrong_return("service", service, "factory", service, "a tune_core.interfaces.Service")
    return service


def _close_service(service: Service) -> None:
    """Close a service at the end of the run; its failure is reported, and the run's own outcome stands."""
    from tune_core.plugins.provenance import describe

    try:
        service.close()
    except Exception as exc:
        log.warning("%s: close() raised %s: %s", describe("service", service), type(exc).__name__, exc)


def _catch_first_sigint(runner: Any) -> Any:
    """First Ctrl-C: stop the trials and save the state (the run then ends in ``KeyboardInterrupt``).
    A second one: quit at once."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_sigint(signum: int, frame: Any) -> None:
        runner.interrupt()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\ntune-core: stopping the trials and saving the experiment state "
              "(Ctrl-C again to quit at once)", file=sys.stderr)

    return signal.signal(signal.SIGINT, on_sigint)


def _check_arguments(*, verbose: Any, metric: Any, **flags: Any) -> int:
    """Refuse wrong types before anything starts; return ``verbose`` as a level 0-2."""
    for name, value in flags.items():
        options.flag("run_experiments", name, value)
    options.text("run_experiments", "metric", metric, optional=True)
    if isinstance(verbose, bool):
        return int(verbose)
    return min(2, options.integer("run_experiments", "verbose", verbose, minimum=0))


def _check_mode(mode: str | None) -> None:
    if mode not in (None, "min", "max"):
        raise TuneError(f"`mode` must be 'min' or 'max', got {mode!r}")


def _config(kind: str, given: Any, config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is not None and given is not None and not isinstance(given, str):
        raise TuneError(f"`{kind}_config` is only for a {kind} given by name, not with an instance")
    if config is not None and not isinstance(config, Mapping):
        raise TuneError(f"`{kind}_config` must be a dict, got {type(config).__name__}")
    return dict(config or {})


#: ``run_experiments`` argument -> the plugin kind it names.
_KIND_OF_ARGUMENT: dict[str, Kind] = {"scheduler": "scheduler", "search_alg": "searcher", "executor": "executor"}


def _search_of(scheduler: TrialScheduler) -> SearchAlgorithm | Searcher | None:
    """The search a scheduler brings (``TrialScheduler.search_alg``), checked."""
    with blame([("scheduler", scheduler)]):
        brought = scheduler.search_alg()
    if brought is not None and not isinstance(brought, (SearchAlgorithm, Searcher)):
        raise wrong_return("scheduler", scheduler, "search_alg", brought,
                           "None, a SearchAlgorithm or a Searcher")
    return brought


def _resolve(argument: str, given: Any, config: Mapping[str, Any] | None, interface: type) -> Any:
    """An instance of ``interface``: ``given`` itself, or the registered plugin it names."""
    kwargs = _config(argument, given, config)
    if given is None or isinstance(given, str):
        from tune_core.plugins import registry

        given = registry.build(_KIND_OF_ARGUMENT[argument], given, **kwargs)
    if argument == "search_alg" and isinstance(given, Searcher):
        from tune_core.search import SearchGenerator

        given = SearchGenerator(given)
    if not isinstance(given, interface):
        raise TuneError(f"`{argument}` must be a {interface.__name__} or a registered name, got {given!r}")
    return given


def _resolve_loggers(given: Sequence[str | TrialLogger] | None,
                     config: Mapping[str, Mapping[str, Any]] | None = None) -> list[TrialLogger]:
    """The run's loggers: those given (names or instances, in order), or every default one; a
    logger given by name gets its arguments from ``config[name]``."""
    from tune_core.plugins.registry import instantiate, logger_specs

    if config is not None and not isinstance(config, Mapping):
        raise TuneError(f"`logger_config` must be a dict {{logger name: {{argument: value}}}}, got {config!r}")
    if given is not None and (isinstance(given, str) or not isinstance(given, Sequence)):
        raise TuneError(f"`loggers` must be a list of logger names or TrialLogger instances, got {given!r}")
    items: list[Any] = list(logger_specs(None)) if given is None else list(given)
    out: list[TrialLogger] = []
    named: set[str] = set()
    for item in items:
        if isinstance(item, TrialLogger):
            out.append(item)
            continue
        if not isinstance(item, str) and given is not None:
            raise TuneError(f"`loggers` entries must be logger names or TrialLogger instances, got {item!r}")
        (reg,) = logger_specs([item]) if isinstance(item, str) else (item,)
        named.add(reg.name)
        options = (config or {}).get(reg.name, {})
        if not isinstance(options, Mapping):
            raise TuneError(f"`logger_config[{reg.name!r}]` must be a dict of arguments, got {options!r}")
        out.append(instantiate(reg, **options))
    unknown = sorted(set(config or {}) - named)
    if unknown:
        raise TuneError(f"`logger_config` names {unknown[0]!r}, which is not a logger of this run; "
                        f"its loggers by name: {', '.join(sorted(named)) or '(none)'}")
    return out
