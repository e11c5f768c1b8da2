"""Fixtures of the tune-server tests: strict plugin loading, a results root per test, this folder on
the path of trial processes (they import ``server_trainables``), and a served experiment that runs
until the tests using it are done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tune_server import TuneClient

import tune_core as tune

pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH


@dataclass
class Served:
    """An experiment running in a thread with its Client API server on a free port."""

    experiment_dir: Path
    thread: threading.Thread
    result: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> TuneClient:
        return TuneClient(experiment_dir=self.experiment_dir, **kwargs)


def serve(local_dir: Path, name: str, spec: dict[str, Any], **options: Any) -> Served:
    """Start ``run_experiments`` with ``with_server=True`` in a thread; return once its token file is there."""
    experiment_dir = local_dir / name
    served = Served(experiment_dir, threading.Thread(daemon=True, target=lambda: None))

    def go() -> None:
        try:
            served.result["trials"] = tune.run_experiments(
                {name: {"local_dir": str(local_dir), **spec}}, with_server=True, server_port=0, verbose=0, **options)
        except BaseException as exc:  # Seen by the test, not lost in the thread.
            served.result["error"] = exc

    served.thread = threading.Thread(target=go, daemon=True)
    served.thread.start()
    deadline = time.monotonic() + 30
    while not (experiment_dir / ".tune_server.json").exists():
        assert served.thread.is_alive(), served.result
        assert time.monotonic() < deadline, "the server's token file never appeared"
        time.sleep(0.02)
    return served


def finish(served: Served, timeout_s: float = 30, stop: bool = True) -> list[Any]:
    """Wait for the run's end (stopping whatever still runs, with ``stop``); its trials."""
    client = served.client()
    deadline = time.monotonic() + timeout_s
    while stop and served.thread.is_alive() and time.monotonic() < deadline:
        try:
            for trial in client.get_all_trials():
                if trial["status"] in ("RUNNING", "PENDING", "PAUSED"):
                    client.stop_trial(trial["trial_id"])
        except tune.TuneError:
            pass  # The run ended between two calls.
        served.thread.join(0.2)
    served.thread.join(max(0.0, deadline - time.monotonic()))
    assert not served.thread.is_alive(), "the run did not end"
    assert "error" not in served.result, served.result["error"]
    trials: list[Any] = served.result["trials"]
    return trials


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Two long trials on the thread executor, served until the module's tests are done."""
    local_dir = tmp_path_factory.mktemp("served")
    running = serve(local_dir, "served", {"run": "server_trainables:steps",
                                          "config": {"sleep": 0.05, "iters": 100000}, "num_samples": 2},
                    executor="thread")
    yield running
    finish(running)
