"""``simulate``: one experiment of synthetic trials through the real runner and a real scheduler.

A thin layer over ``run_experiments(..., executor=SimulatedExecutor(...))``: it builds the
experiment (``num_trials`` configs sampled with a seeded search, stopped at ``max_t`` iterations),
turns off what a simulation does not need (console status, and by default the loggers), and
times the scheduler's calls in real seconds.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from tune_core.interfaces import TrialLogger, TrialScheduler
from tune_core.testing.curves import DEFAULT_SPACE, Curve
from tune_core.testing.simulator import SimulatedExecutor, simulated_trainable
from tune_core.testing.wrapper import SchedulerWrapper
from tune_core.trial import Trial

__all__ = ["SimulationResult", "TimedScheduler", "simulate"]

#: The calls that are scheduling decisions (what ``SimulationResult.seconds_per_decision`` averages).
DECISIONS = frozenset(("on_trial_result", "choose_trial_to_run"))


class TimedScheduler(SchedulerWrapper):
    """Adds up the real seconds spent in each method of the wrapped scheduler, and the calls."""

    def __init__(self, inner: TrialScheduler) -> None:
        super().__init__(inner)
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def _call(self, method: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self.inner, method)(*args)
        finally:
            self.seconds[method] = self.seconds.get(method, 0.0) + time.perf_counter() - start
            self.calls[method] = self.calls.get(method, 0) + 1


@dataclass
class SimulationResult:
    """What a simulation did, in virtual and in real time."""

    trials: list[Trial]
    #: Virtual seconds from the first trial's start to the last trial's end.
    virtual_time_s: float
    #: Real seconds ``run_experiments`` took.
    real_time_s: float
    scheduler: TrialScheduler
    executor: SimulatedExecutor
    #: Real seconds spent in each scheduler method, and how often each was called.
    scheduler_seconds: dict[str, float] = field(default_factory=dict)
    scheduler_calls: dict[str, int] = field(default_factory=dict)

    @property
    def decisions(self) -> int:
        """Calls of ``on_trial_result`` and ``choose_trial_to_run``."""
        return sum(n for m, n in self.scheduler_calls.items() if m in DECISIONS)

    @property
    def seconds_per_decision(self) -> float:
        """Real seconds per decision, counting every scheduler method's time."""
        return sum(self.scheduler_seconds.values()) / max(1, self.decisions)

    @property
    def results(self) -> int:
        """Iterations the simulated trials completed (results reported), restarts included."""
        return self.executor.iterations

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts


def simulate(
    scheduler: TrialScheduler | str | None = None,
    *,
    num_trials: int = 100,
    workers: int = 10,
    max_t: int = 30,
    curve: Curve | None = None,
    config: Mapping[str, Any] | None = None,
    duration: float | Callable[[Mapping[str, Any]], float] | None = None,
    noise: float = 0.0,
    failure_rate: float = 0.0,
    max_failures: int = 0,
    seed: int = 0,
    metric: str | None = "score",
    mode: str | None = "max",
    checkpoint_freq: int = 0,
    resources: Mapping[str, Any] | None = None,
    scheduler_config: Mapping[str, Any] | None = None,
    local_dir: str | None = None,
    loggers: Sequence[str | TrialLogger] = (),
    name: str = "sim",
    executor: SimulatedExecutor | None = None,
    quiet: bool = True,
    search_alg: Any = None,
    search_alg_config: Mapping[str, Any] | None = None,
) -> SimulationResult:
    """Run ``num_trials`` synthetic trials on ``workers`` virtual CPUs under ``scheduler``.

    Args:
        scheduler: an instance, a registered name (``"fifo"``, ``"median-stopping"``, ``"asha"``,
            ...; ``scheduler_config`` holds its arguments) or ``None`` for the default.
        config: the search space sampled for each trial (default ``DEFAULT_SPACE``, which
            ``default_curve`` reads); sampled with ``seed``.
        max_t: every trial stops at this ``training_iteration`` (unless the scheduler stops it first).
        curve, duration, noise, failure_rate: the synthetic trials (see ``SimulatedExecutor``).
        max_failures, checkpoint_freq, resources: the experiment's own settings (``resources``: what
            each trial asks for, default 1 CPU).
        local_dir: where trial directories go (default: a temporary directory, removed at the end).
        loggers: the run's loggers; none by default (a simulation is about decisions, not files).
        executor: a ``SimulatedExecutor`` of your own (then ``workers``, ``curve``, ``duration``,
            ``noise``, ``failure_rate`` are its own, not these).
        quiet: keep tune-core's warnings (a line per failed trial) out of the output.
        search_alg: what proposes the configs: a ``Searcher`` or ``SearchAlgorithm`` instance, or a
            registered name (arguments in ``search_alg_config``); default ``basic`` seeded with
            ``seed`` (random sampling of ``config``).
    """
    import tune_core
    from tune_core.plugins import registry
    from tune_core.search.basic import BasicVariantGenerator

    if scheduler is None or isinstance(scheduler, str):
        scheduler = registry.build("scheduler", scheduler, **dict(scheduler_config or {}))
    elif scheduler_config is not None:
        raise TypeError("simulate: `scheduler_config` is for a scheduler given by name, not an instance")
    assert isinstance(scheduler, TrialScheduler), f"not a TrialScheduler: {scheduler!r}"
    timed = TimedScheduler(scheduler)
    sim = executor or SimulatedExecutor(workers, curve, duration=duration, noise=noise,
                                        failure_rate=failure_rate, seed=seed)
    with tempfile.TemporaryDirectory(prefix="tune-sim-") if local_dir is None else nullcontext() as tmp:
        spec = {
            "run": simulated_trainable,
            "config": dict(DEFAULT_SPACE if config is None else config),
            "num_samples": num_trials,
            "stop": {"training_iteration": max_t},
            "local_dir": local_dir or tmp,
            "max_failures": max_failures,
            "checkpoint_freq": checkpoint_freq,
        }
        if resources is not None:
            spec["resources"] = dict(resources)
        log = logging.getLogger("tune_core")
        level = log.level
        if quiet:
            log.setLevel(logging.ERROR)
        start = time.perf_counter()
        try:
            trials = tune_core.run_experiments(
                {name: spec}, scheduler=timed, executor=sim,
                search_alg=BasicVariantGenerator(seed=seed) if search_alg is None else search_alg,
                search_alg_config=search_alg_config,
                verbose=0, loggers=list(loggers), metric=metric, mode=mode, raise_on_failed_trial=False,
            )
        finally:
            log.setLevel(level)
        real = time.perf_counter() - start
        from tune_core.logwriter import wait_for_pending_writes

        wait_for_pending_writes()  # The last state snapshot, before its directory goes.
    return SimulationResult(trials=trials, virtual_time_s=sim.clock(), real_time_s=real, scheduler=scheduler,
                            executor=sim, scheduler_seconds=dict(timed.seconds),
                            scheduler_calls=dict(timed.calls))
