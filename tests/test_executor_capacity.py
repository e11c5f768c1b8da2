"""An executor whose resources change while the run goes on (a cluster that loses a node), one that
names the node its trials run on, and its status line in the status block, the state and ``tune-core ls``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tune_core as tune
from tune_core.executors.thread import ThreadExecutor
from tune_core.interfaces import Resources, TrialLaunch, TrialResults
from tune_core.logwriter import wait_for_pending_writes
from tune_core.reporter import StatusSnapshot, format_status
from tune_core.result import set_node
from tune_core.runtime import Transport, TrialHost

SPECIAL = Resources(cpu=2.0, custom={"special": 1.0})
PLAIN = Resources(cpu=2.0)


class ShrinkingExecutor(ThreadExecutor):
    """Threads, with a total that loses its one ``special`` resource when ``shrunk`` is set."""

    shrunk = False

    def total_resources(self) -> Resources:
        return PLAIN if self.shrunk else SPECIAL

    def status_line(self) -> str:
        return "fake cluster: 1 node, 1 lost" if self.shrunk else "fake cluster: 2 nodes"


def test_a_trial_that_no_longer_fits_ends_in_error_and_the_rest_goes_on(tmp_path: Path) -> None:
    executor = ShrinkingExecutor(num_cpus=2)

    def train(config: dict[str, Any], reporter: Any) -> None:
        for i in range(1, 6):
            if config["special"] and i == 3 and not executor.shrunk:
                executor.shrunk = True  # Its node goes, and the trial with it.
                raise RuntimeError("the node running the trial died")
            reporter(score=i)

    trials = tune.run_experiments(
        {"special": {"run": train, "local_dir": str(tmp_path), "max_failures": 3, "config": {"special": True},
                     "resources": {"cpu": 1, "special": 1}},
         "plain": {"run": train, "local_dir": str(tmp_path), "config": {"special": False, "n": tune.grid_search([1, 2])}}},
        executor=executor, verbose=0, raise_on_failed_trial=False)
    assert sorted(t.status for t in trials) == ["ERROR", "TERMINATED", "TERMINATED"]
    assert next(t for t in trials if t.config["special"]).status == "ERROR"


def test_a_waiting_trial_whose_resource_is_gone_ends_in_error(tmp_path: Path) -> None:
    executor = ShrinkingExecutor(num_cpus=2)

    def train(config: dict[str, Any], reporter: Any) -> None:
        for i in range(1, 6):
            if i == 3 and not executor.shrunk:
                executor.shrunk = True
                raise RuntimeError("the node running the trial died")
            reporter(score=i)

    [trial] = tune.run_experiments(
        {"shrink": {"run": train, "local_dir": str(tmp_path), "max_failures": 3,
                    "resources": {"cpu": 1, "special": 1}}},
        executor=executor, verbose=0, raise_on_failed_trial=False)
    assert trial.status == "ERROR"
    assert trial.error_file is not None
    error = Path(trial.error_file).read_text()
    assert "can no longer run: it needs 1 'special' but the executor has 0" in error, error
    # Its results before the failure are kept; it ran once (two failures: the crash, then the give-up).
    assert [json.loads(line)["score"] for line in Path(trial.logdir or "", "result.json").read_text().splitlines()] == [1, 2]
    wait_for_pending_writes()  # The last state snapshot is written in the background.
    state = json.loads((tmp_path / "shrink" / "experiment_state.json").read_text())
    assert state["executor"] == "fake cluster: 1 node, 1 lost"


def test_the_status_line_shows_in_the_status_block_and_ls(tmp_path: Path) -> None:
    assert "fake cluster: 2 nodes" in format_status(StatusSnapshot(trials=[], executor_line="fake cluster: 2 nodes"))
    tune.run_experiments({"lined": {"run": "tests.trainables:counting", "local_dir": str(tmp_path),
                                    "config": {"n": 2}}},
                         executor=ShrinkingExecutor(num_cpus=2), verbose=0)
    out = subprocess.run([sys.executable, "-m", "tune_core", "ls", str(tmp_path / "lined")], capture_output=True,
                         text=True, cwd=Path(__file__).parent.parent, env={**os.environ, "PYTHONPATH": "."})
    assert out.returncode == 0, out.stderr
    assert "the trials ran on fake cluster: 2 nodes" in out.stderr


class _Collect(Transport):
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, *messages: Any) -> None:
        self.sent.extend(messages)

    def recv(self, timeout: float | None) -> Any:
        return None


def test_a_host_that_names_its_node_puts_it_in_every_result(tmp_path: Path) -> None:
    def train(config: dict[str, Any], reporter: Any) -> None:
        reporter(score=1)
        reporter(score=2)

    transport = _Collect()
    host = TrialHost(transport, node="node-7")
    try:
        launch = TrialLaunch(trial_id="t1", trainable_name="train", trainable=train, config={},
                             logdir=str(tmp_path / "t1"), resources=Resources(cpu=1.0))
        host.run(launch, train)
    finally:
        host.close()
        set_node(None)  # The node is the process's; leave this test process unnamed.
    results = [r for m in transport.sent if isinstance(m, TrialResults) for r in m.results]
    assert [r["node"] for r in results] == ["node-7", "node-7"]
