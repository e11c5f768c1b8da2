"""Every hook tune-core offers, and nothing else: the one place a plugin author reads.

Registration hooks (``tune_<plural noun>``) yield typed records from ``tune_core.plugins.types``; the
registry collects them one plugin at a time and resolves the user's names. Observer hooks
(``tune_on_<event>``) are broadcast to every plugin, return ``None`` and never change the run.

Hookimpls take any subset of a spec's arguments, by name, and never give them defaults. New arguments
may be added to a hook later; plugins that do not ask for them keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from tune_core.plugins.kinds import KINDS

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.interfaces import TrialView
    from tune_core.plugins.types import (
        CommandSpec,
        ExecutorSpec,
        LoggerSpec,
        SchedulerSpec,
        SearcherSpec,
        ServiceSpec,
        TrainableAdapterSpec,
    )

__all__ = [
    "PROJECT",
    "REGISTRATION_HOOKS",
    "hookimpl",
    "tune_executors",
    "tune_loggers",
    "tune_on_experiment_end",
    "tune_on_experiment_start",
    "tune_on_trial_complete",
    "tune_on_trial_error",
    "tune_on_trial_result",
    "tune_on_trial_start",
    "tune_schedulers",
    "tune_searchers",
    "tune_trainable_adapters",
]

#: Names the pluggy project (the markers) and the entry-point group plugins are found through.
PROJECT = "tune_core"

_hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a function in a plugin module as the implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Registration hook -> the kind of thing it registers (from the one table, ``plugins/kinds.py``).
REGISTRATION_HOOKS = {kind.hook: kind.name for kind in KINDS.values()}


# --- registration hooks -------------------------------------------------------------------------


@_hookspec
def tune_schedulers() -> Iterable[SchedulerSpec]:
    """Register trial schedulers that users choose by name (``scheduler="asha"``).

    Called when a scheduler is looked up by name or listed (``tune-core plugins``), never at import.

    Returns:
        The ``SchedulerSpec`` records this plugin provides; ``factory(**config)`` must return a
        ``tune_core.interfaces.TrialScheduler``.

    Example:
        .. code-block:: python

            from tune_core.plugins import SchedulerSpec, hookimpl, lazy

            @hookimpl
            def tune_schedulers():
                yield SchedulerSpec(name="asha", factory=lazy("tune_asha.scheduler:ASHAScheduler"),
                                    description="asynchronous successive halving")

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_searchers() -> Iterable[SearcherSpec]:
    """Register search algorithms that users choose by name (``search_alg="hyperopt"``).

    Called when a searcher is looked up by name or listed.

    Returns:
        ``SearcherSpec`` records; ``factory(**config)`` returns a ``SearchAlgorithm`` or a
        model-based ``Searcher`` (the runner wraps the latter).

    Example:
        .. code-block:: python

            from tune_core.plugins import SearcherSpec, hookimpl, lazy

            @hookimpl
            def tune_searchers():
                yield SearcherSpec(name="hyperopt", factory=lazy("tune_hyperopt.search:HyperOptSearch"))

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_loggers() -> Iterable[LoggerSpec]:
    """Register trial loggers. Those with ``default_on=True`` run unless the user picks loggers.

    Called once per experiment run, when the runner builds its loggers, and when listing.

    Returns:
        ``LoggerSpec`` records; ``factory(**config)`` returns a ``TrialLogger``.

    Example:
        .. code-block:: python

            from tune_core.plugins import LoggerSpec, hookimpl, lazy

            @hookimpl
            def tune_loggers():
                yield LoggerSpec(name="tensorboard", default_on=False,
                                 factory=lazy("tune_tensorboard.logger:TBLogger"))

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_executors() -> Iterable[ExecutorSpec]:
    """Register executors: where trials run (``executor="ray"``).

    Called when an executor is looked up by name or listed, and at each run that names none.

    Returns:
        ``ExecutorSpec`` records; ``factory(**config)`` returns an ``Executor``. ``default_when``
        (optional, a function of no arguments): when the user names no executor and it returns
        True, this executor is used instead of ``local``. The Ray executor's returns True after the
        user's own ``ray.init()`` (it looks in ``sys.modules``, importing nothing): the seed's habit.
        It is asked at every run that names no executor, so keep it cheap; an exception in it is a
        ``TuneError`` naming the executor.

    Example:
        .. code-block:: python

            from tune_core.plugins import ExecutorSpec, hookimpl, lazy

            @hookimpl
            def tune_executors():
                yield ExecutorSpec(name="ray", factory=lazy("tune_ray.executor:RayExecutor"))

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_trainable_adapters() -> Iterable[TrainableAdapterSpec]:
    """Register adapters that turn framework objects into trainables.

    Called when the experiment's ``run`` is neither a registered name, a function nor a
    ``Trainable`` subclass; the first adapter (by name) whose ``matches(obj)`` is true adapts it.

    Returns:
        ``TrainableAdapterSpec`` records; ``adapt(obj)`` returns a function trainable
        ``f(config, reporter)`` or a ``Trainable`` subclass.

    Example:
        .. code-block:: python

            from tune_core.plugins import TrainableAdapterSpec, hookimpl

            class Objective:  # a "framework" object: called with a config, returns a score
                def __call__(self, config): return -config["x"] ** 2

            def as_function_trainable(objective):
                def train(config, reporter):
                    reporter(score=objective(config), done=True)
                return train

            @hookimpl
            def tune_trainable_adapters():
                yield TrainableAdapterSpec(name="objective",
                                           matches=lambda obj: isinstance(obj, Objective),
                                           adapt=as_function_trainable)

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_commands() -> Iterable[CommandSpec]:
    """Register ``tune-core`` subcommands (``tune-core viskit DIR``, ``tune-core report DIR``).

    Called when the ``tune-core`` command builds its parser, so keep the plugin module light and
    name the functions with ``lazy``. A name the core's own subcommands use (``run``, ``resume``,
    ``ls``, ``plugins``) is refused.

    Returns:
        ``CommandSpec`` records; ``add_arguments(parser)`` declares the arguments, ``run(args)``
        returns the exit status.

    Example:
        .. code-block:: python

            from tune_core.plugins import CommandSpec, hookimpl

            def add_arguments(parser):
                parser.add_argument("experiment_dir")

            def count(args):
                import os
                print(len(os.listdir(args.experiment_dir)))
                return 0

            @hookimpl
            def tune_commands():
                yield CommandSpec(name="count", description="count the entries of an experiment directory",
                                  add_arguments=add_arguments, run=count)

    .. versionadded:: 0.1
    """
    yield from ()


@_hookspec
def tune_services() -> Iterable[ServiceSpec]:
    """Register services: what runs beside an experiment while it runs (the Client API server).

    Called when a run asks for one (``run_experiments(..., with_server=True)`` asks for ``server``).

    Returns:
        ``ServiceSpec`` records; ``factory(control, **config)`` returns a ``Service``, given the run's
        ``tune_core.control.ExperimentControl``; ``close()`` is called when the run ends.

    Example:
        .. code-block:: python

            import threading
            from tune_core.interfaces import Service
            from tune_core.plugins import ServiceSpec, hookimpl

            class Announcer(Service):  # prints the number of trials every second
                def __init__(self, control):
                    self._stop = threading.Event()
                    def loop():
                        while not self._stop.wait(1.0):
                            print(control.status()["trials"], "trials")
                    threading.Thread(target=loop, daemon=True).start()

                def close(self):
                    self._stop.set()

            @hookimpl
            def tune_services():
                yield ServiceSpec(name="announcer", factory=Announcer)

    .. versionadded:: 0.1
    """
    yield from ()


# --- observer hooks ------------------------------------------------------------------------------


@_hookspec
def tune_on_experiment_start(experiments: list[Experiment]) -> None:
    """The runner is about to start (or resume) these experiments.

    Fires once per ``run_experiments`` call, after the specs are validated, before any trial starts.

    Args:
        experiments: the validated experiments, in the order given.

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_experiment_start(experiments):
                print("starting", [e.name for e in experiments])

    .. versionadded:: 0.1
    """


@_hookspec
def tune_on_trial_start(trial: TrialView) -> None:
    """A trial has been handed to the executor.

    Fires on the first start and again on every restart: a retried failure, a paused trial that
    resumes, a trial restarted from another trial's checkpoint, a resumed experiment.

    Args:
        trial: a read-only view of the trial (``tune_core.interfaces.TrialView``).

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_trial_start(trial):
                print("started", trial.trial_id, trial.config)

    .. versionadded:: 0.1
    """


@_hookspec
def tune_on_trial_result(trial: TrialView, result: dict[str, Any]) -> None:
    """A trial reported a result. Fires for every result, in order, before the scheduler decides
    on it (so also for the result on which a scheduler stops the trial).

    Keep it fast; the runner skips the call entirely when no plugin implements it. Do not change
    ``result``.

    Args:
        trial: the trial that reported (a read-only view).
        result: the result, with the auto-filled fields (``training_iteration``, ...).

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_trial_result(trial, result):
                if result.get("mean_accuracy", 0) > 0.99:
                    print(trial.trial_id, "is very good")

    .. versionadded:: 0.1
    """


@_hookspec
def tune_on_trial_complete(trial: TrialView) -> None:
    """A trial ended as ``TERMINATED``: its trainable ended, it met a stop criterion, or a scheduler
    or the user stopped it. Never fires for a trial that ends in ``ERROR`` (see
    ``tune_on_trial_error``).

    Args:
        trial: a read-only view; ``trial.last_result`` holds its final result.

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_trial_complete(trial):
                print("done", trial.trial_id, trial.last_result)

    .. versionadded:: 0.1
    """


@_hookspec
def tune_on_trial_error(trial: TrialView, error: str, will_retry: bool) -> None:
    """A trial failed (raised, or its process died). Fires on every failure, retried or not.

    With ``will_retry`` the trial goes back to ``PENDING`` and restarts from its latest checkpoint
    (``max_failures``); without it, the trial is now ``ERROR``.

    Args:
        trial: a read-only view of the trial that failed.
        error: the traceback or the reason, as text.
        will_retry: whether the trial will be restarted.

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_trial_error(trial, error, will_retry):
                print("failed", trial.trial_id, error.splitlines()[-1], "(retrying)" if will_retry else "")

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``will_retry``; fires on every failure, not only the last.
    """


@_hookspec
def tune_on_experiment_end(trials: list[TrialView]) -> None:
    """The run has ended; every trial is TERMINATED or ERROR (or the run was interrupted).

    Fires once per ``run_experiments`` call, after loggers are closed and state is saved.

    Args:
        trials: read-only views of every trial of the run.

    Example:
        .. code-block:: python

            from tune_core.plugins import hookimpl

            @hookimpl
            def tune_on_experiment_end(trials):
                print(sum(t.status == "TERMINATED" for t in trials), "trials finished")

    .. versionadded:: 0.1
    """
