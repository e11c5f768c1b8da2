"""Commands from another thread to a running experiment: add a trial, stop a trial (real workers)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tune_core.commands import AddTrial, StopTrial
from tune_core.errors import TuneError
from tune_core.executors.local import LocalExecutor
from tune_core.experiment import Experiment
from tune_core.loggers import JsonLogger
from tune_core.runner import TrialRunner
from tune_core.schedulers.fifo import FIFOScheduler
from tune_core.search.basic import BasicVariantGenerator
from tune_core.trial import PENDING, RUNNING, TERMINATED, Trial


def counts(config: dict[str, Any], reporter: Any) -> None:
    for i in range(config["iters"]):
        time.sleep(0.02)
        reporter(i=i, tag=config["tag"])


def _runner(local_dir: Path, cpus: int = 2) -> tuple[TrialRunner, Experiment, LocalExecutor]:
    experiment = Experiment("cmd", counts, config={"iters": 250, "tag": "first"}, local_dir=local_dir)
    search = BasicVariantGenerator()
    search.add_configurations([experiment])
    executor = LocalExecutor(num_cpus=cpus, num_gpus=0)
    runner = TrialRunner(search, FIFOScheduler(), executor, loggers=[JsonLogger()], experiments=[experiment])
    return runner, experiment, executor


def _run_with(runner: TrialRunner, executor: LocalExecutor, client: Any) -> list[Trial]:
    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        trials = runner.run()
    finally:
        executor.shutdown()
        runner.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return trials


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_trials_are_added_and_stopped_from_another_thread(local_dir: Path) -> None:
    runner, experiment, executor = _runner(local_dir)
    outcome: dict[str, Any] = {}

    def client() -> None:
        _wait_for(lambda: any(t.status == RUNNING for t in runner.get_trials()))
        first = runner.get_trials()[0]
        added = experiment.make_trial({"iters": 3, "tag": "added"}, "1_added")
        outcome["add"] = runner.request(AddTrial(added)).result(timeout=30)
        _wait_for(lambda: added.status == TERMINATED)
        outcome["stop"] = runner.request(StopTrial(first.trial_id)).result(timeout=30)

    trials = _run_with(runner, executor, client)
    first, added = trials
    assert outcome == {"add": added, "stop": first}
    assert runner.trial_by_id(added.trial_id) is added
    assert runner.get_trial(added.trial_id) is added.view
    assert [t.status for t in trials] == [TERMINATED, TERMINATED]
    lines = [json.loads(x) for x in Path(added.logdir, "result.json").read_text().splitlines()]
    assert [r["tag"] for r in lines] == ["added"] * 3
    assert first.last_result["training_iteration"] < 250  # Stopped, not run to its end.


def test_refused_commands_raise_in_the_sender_and_the_run_goes_on(local_dir: Path) -> None:
    runner, experiment, executor = _runner(local_dir)
    errors: list[str] = []

    def client() -> None:
        _wait_for(lambda: any(t.status == RUNNING for t in runner.get_trials()))
        first = runner.get_trials()[0]
        futures: list[Future[Trial]] = [
            runner.request(StopTrial("no-such-id")),
            runner.request(AddTrial(first)),
        ]
        too_big = experiment.make_trial({"iters": 1, "tag": "big"}, "2_big",
                                        resources=type(first.resources)(cpu=64))
        futures.append(runner.request(AddTrial(too_big)))
        for future in futures:
            with pytest.raises(TuneError) as info:
                future.result(timeout=30)
            errors.append(str(info.value))
        runner.request(StopTrial(first.trial_id)).result(timeout=30)

    trials = _run_with(runner, executor, client)
    assert "no trial with id 'no-such-id'" in errors[0]
    assert "already in this experiment" in errors[1]
    assert "can never run" in errors[2] and "64 CPUs" in errors[2]
    assert [t.status for t in trials] == [TERMINATED]


def test_a_trial_added_while_all_cpus_are_busy_waits_its_turn(local_dir: Path) -> None:
    runner, experiment, executor = _runner(local_dir, cpus=1)
    seen: dict[str, str] = {}

    def client() -> None:
        _wait_for(lambda: runner.get_trials() and runner.get_trials()[0].status == RUNNING)
        added = runner.request(AddTrial(experiment.make_trial({"iters": 2, "tag": "later"}, "1_later")))
        trial = added.result(timeout=30)
        seen["status_when_added"] = trial.status
        runner.request(StopTrial(runner.get_trials()[0].trial_id)).result(timeout=30)

    trials = _run_with(runner, executor, client)
    assert seen["status_when_added"] == PENDING
    assert [t.status for t in trials] == [TERMINATED, TERMINATED]
    assert trials[1].last_result["tag"] == "later"
