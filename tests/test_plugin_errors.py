"""A plugin that breaks during a run is named: which plugin, which distribution, which method.

Exceptions raised inside a scheduler's, searcher's or executor's methods reach the user with a note
naming the plugin; a method that returns what its contract does not allow is a ``TuneError`` naming
the plugin and the method; a failing logger is switched off with a message naming it. Runs use the
thread executor: these are runner tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.executors.thread import ThreadExecutor
from tune_core.interfaces import CONTINUE, Searcher, TrialLogger, TrialScheduler
from tune_core.plugins import ExecutorSpec, LoggerSpec, SchedulerSpec, SearcherSpec, hookimpl
from tune_core.schedulers import FIFOScheduler

pytest_plugins = ["tune_core.plugins.testing"]
Register = Callable[..., str]


def count(config: dict[str, Any], reporter: Any) -> None:
    for i in range(1, 4):
        reporter(i=i)


def _run(local_dir: Path, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("executor", "thread")
    return tune.run_experiments({"e": {"run": count, "local_dir": str(local_dir),
                                       "config": {"x": tune.grid_search([1, 2])}}},
                                verbose=0, **kwargs)


class RaisingScheduler(FIFOScheduler):
    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        raise RuntimeError("bad rung")


class BadPoint(FIFOScheduler):
    def decision_point(self, trial: Any) -> Any:
        return 3


class BadDecision(FIFOScheduler):
    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return "MAYBE"


class BadChoice(TrialScheduler):
    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return "the first one"


class Provider:
    @hookimpl
    def tune_schedulers(self) -> Iterator[SchedulerSpec]:
        yield SchedulerSpec(name="raising", factory=RaisingScheduler)

    @hookimpl
    def tune_searchers(self) -> Iterator[SearcherSpec]:
        yield SearcherSpec(name="raising-search", factory=RaisingSearcher)

    @hookimpl
    def tune_loggers(self) -> Iterator[LoggerSpec]:
        yield LoggerSpec(name="broken-log", factory=BrokenLogger)

    @hookimpl
    def tune_executors(self) -> Iterator[ExecutorSpec]:
        yield ExecutorSpec(name="broken-poll", factory=BrokenPoll)


class RaisingSearcher(Searcher):
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        raise KeyError("no space")

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        pass


class BrokenLogger(TrialLogger):
    def on_trial_result(self, trial: Any, result: dict[str, Any]) -> None:
        raise OSError("disk full")


class BrokenPoll(ThreadExecutor):
    def poll(self, timeout: float) -> list[Any]:
        raise ConnectionError("lost the cluster")


def _notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


def test_scheduler_from_a_plugin_is_named(local_dir: Path, register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    with pytest.raises(RuntimeError, match="bad rung") as info:
        _run(local_dir, scheduler="raising")
    assert ("raised in RaisingScheduler.on_trial_result of scheduler 'raising' "
            "(plugin 'provider', registered directly)") in _notes(info.value)


def test_scheduler_instance_is_named_by_its_class_and_module(local_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="bad rung") as info:
        _run(local_dir, scheduler=RaisingScheduler())
    assert "raised in RaisingScheduler.on_trial_result of scheduler RaisingScheduler (from " in _notes(info.value)
    assert "test_plugin_errors" in _notes(info.value)


def test_searcher_is_named(local_dir: Path, register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    with pytest.raises(KeyError) as info:
        _run(local_dir, search_alg="raising-search")
    assert "raised in RaisingSearcher.suggest of searcher 'raising-search'" in _notes(info.value)


def test_executor_is_named(local_dir: Path, register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    with pytest.raises(ConnectionError) as info:
        _run(local_dir, executor="broken-poll")
    assert "raised in BrokenPoll.poll of executor 'broken-poll' (plugin 'provider'" in _notes(info.value)


def test_failing_logger_is_named_and_switched_off(local_dir: Path, register_plugin: Register,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    register_plugin(Provider(), name="provider")
    with caplog.at_level(logging.ERROR, logger="tune_core"):
        trials = _run(local_dir, loggers=["json", "broken-log"])
    assert all(t.status == "TERMINATED" for t in trials)
    assert [r.getMessage() for r in caplog.records if "broken-log" in r.getMessage()] == [
        "logger 'broken-log' (plugin 'provider', registered directly) failed in "
        "BrokenLogger.on_trial_result and is now off: OSError('disk full')"]
    assert all(Path(t.logdir, "result.json").read_text().count("\n") == 3 for t in trials)


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        (BadPoint(), r"BadPoint.decision_point\(\) returned 3 \(int\); allowed: None or a "
                     r"tune_core.interfaces.DecisionPoint"),
        (BadDecision(), r"BadDecision.on_trial_result\(\) returned 'MAYBE' \(str\); allowed: CONTINUE, PAUSE, STOP"),
        (BadChoice(), r"BadChoice.choose_trial_to_run\(\) returned 'the first one' \(str\); allowed: None, "
                      r"or a PENDING or PAUSED trial"),
    ],
    ids=["decision_point", "on_trial_result", "choose_trial_to_run"],
)
def test_wrong_return_type_names_the_plugin_and_method(local_dir: Path, scheduler: TrialScheduler,
                                                       message: str) -> None:
    with pytest.raises(tune.TuneError, match=message) as info:
        _run(local_dir, scheduler=scheduler)
    assert str(info.value).startswith(f"scheduler {type(scheduler).__name__} (from ")
