"""``check_scheduler``: run a scheduler through simulated experiments and report every rule it breaks.

Three runs of the same seeded experiment on ``SimulatedExecutor`` (``num_trials`` synthetic trials
on ``workers`` virtual CPUs, with a few failures so retries and ``on_trial_error`` happen too), each
with a fresh scheduler from ``factory``:

1. the scheduler is watched (``tune_core.testing.watch``): every return checked, every action on a
   trial checked, every exception caught, each call logged as a decision;
2. the same again: a decision that differs from the first run's is ``nondeterministic``;
3. part way through, the scheduler's ``save()`` goes (pickled) into a second one made with the
   factory; from then on both are asked every question, and the first answer that differs is
   ``state-lost-on-restore``.

The global ``random`` (and numpy's, when loaded) is seeded with ``seed`` before each run, so a
scheduler drawing from it is as reproducible as one with a seeded generator of its own.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Mapping
from typing import Any

from tune_core.errors import TuneError
from tune_core.interfaces import TrialScheduler
from tune_core.plugins.errors import describe_exception
from tune_core.plugins.provenance import describe
from tune_core.testing.curves import Curve
from tune_core.testing.decisions import describe_decision
from tune_core.testing.report import Checker, SchedulerReport
from tune_core.testing.simulation import simulate
from tune_core.testing.simulator import SimulatedExecutor, SimulationStalled
from tune_core.testing.watch import Watch

__all__ = ["assert_scheduler_conforms", "check_scheduler"]

Factory = Callable[[], TrialScheduler] | str


def check_scheduler(
    factory: Factory,
    *,
    metric: str | None = "score",
    mode: str | None = "max",
    seed: int = 0,
    num_trials: int = 40,
    workers: int = 4,
    max_t: int = 30,
    curve: Curve | None = None,
    config: Mapping[str, Any] | None = None,
    failure_rate: float = 0.01,
    max_failures: int = 1,
    checkpoint_freq: int = 0,
    resources: Mapping[str, Any] | None = None,
    local_dir: str | None = None,
) -> SchedulerReport:
    """Check the scheduler ``factory()`` makes against every rule; return what it broke.

    Args:
        factory: makes a fresh scheduler each call (called several times), or a registered name
            (``"asha"``) to build with its defaults.
        metric, mode: the run's objective (handed to the scheduler as ``run`` would).
        seed: seeds the configs, the curves' noise and failures, and the global ``random``.
        num_trials, workers, max_t: the simulated experiment (``max_t``: iterations per trial).
        curve, config: the synthetic trials and their search space (see ``simulate``).
        failure_rate, max_failures: failed iterations, and how often a trial is retried.
        checkpoint_freq, resources, local_dir: as in ``simulate``. Trials that do not fill the
            workers exactly (``resources={"cpu": 2}`` on 3 workers) catch a scheduler that starts a
            trial without checking ``runner.has_resources``.
    """
    make = _factory(factory)
    name = describe("scheduler", make())
    checker = Checker(name)
    report = SchedulerReport(scheduler=name)
    settings: dict[str, Any] = dict(
        num_trials=num_trials, workers=workers, max_t=max_t, curve=curve, config=config, seed=seed,
        metric=metric, mode=mode, failure_rate=failure_rate, max_failures=max_failures,
        checkpoint_freq=checkpoint_freq, resources=resources, local_dir=local_dir,
    )
    first = _run(Watch(make(), checker), settings, report)
    checker.counting = False
    second = _run(Watch(make(), checker), settings, report)
    if first is not None and second is not None:
        _compare(first.decisions, second.decisions, checker)
    twin_after = max(1, num_trials // 3)
    _run(Watch(make(), checker, twin_factory=make, twin_after=twin_after), settings, report)
    report.problems = list(checker.problems.values())
    return report


def assert_scheduler_conforms(factory: Factory, **kwargs: Any) -> SchedulerReport:
    """``check_scheduler``, raising ``AssertionError`` that lists every problem if there is one."""
    report = check_scheduler(factory, **kwargs)
    report.raise_if_problems()
    return report


def _factory(factory: Factory) -> Callable[[], TrialScheduler]:
    if isinstance(factory, str):
        from tune_core.plugins import registry

        name = factory
        return lambda: registry.build("scheduler", name)
    if not callable(factory):
        raise TypeError(f"check_scheduler: `factory` must make a scheduler when called, got {factory!r}")
    return factory


def _seed_globals(seed: int) -> None:
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % (1 << 32))


def _run(watch: Watch, settings: dict[str, Any], report: SchedulerReport) -> Watch | None:
    """One simulated experiment under ``watch``; the watch when the run went to its end."""
    _seed_globals(settings["seed"])
    executor = SimulatedExecutor(settings["workers"], settings["curve"], seed=settings["seed"],
                                 failure_rate=settings["failure_rate"])
    report.runs += 1
    args = {k: v for k, v in settings.items() if k not in ("workers", "curve", "failure_rate")}
    try:
        simulate(watch, executor=executor, **args)
    except SimulationStalled as exc:
        watch.checker.add("starvation", "stalled", str(exc))
    except TuneError as exc:
        rule = "invalid-decision" if "returned" in str(exc) else "exception"
        watch.checker.add(rule, f"run:{type(exc).__name__}", f"the run ended early: {exc}")
    except Exception as exc:
        watch.checker.add("exception", f"run:{type(exc).__name__}",
                          f"the run ended early: {describe_exception(exc)}")
    else:
        return watch
    return None


def _compare(first: list[tuple[Any, ...]], second: list[tuple[Any, ...]], checker: Checker) -> None:
    for index, (one, two) in enumerate(zip(first, second, strict=False)):
        if one != two:
            checker.add("nondeterministic", "decisions",
                        f"two runs with the same seed differ at call {index + 1}: "
                        f"{describe_decision(one)} in the first, {describe_decision(two)} in the second")
            return
    if len(first) != len(second):
        checker.add("nondeterministic", "decisions",
                    f"two runs with the same seed made {len(first)} and {len(second)} scheduler calls")

