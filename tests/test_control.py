"""``ExperimentControl``: a running experiment listed, extended and stopped from another thread, as a
service (the Client API server's kind of plugin) does; ``with_server=True`` starting the ``server``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.control import ExperimentControl, json_safe
from tune_core.interfaces import Service
from tune_core.plugins import ServiceSpec, hookimpl


def slow(config: dict[str, Any], reporter: Any) -> None:
    for i in range(1, config.get("iters", 200) + 1):
        time.sleep(0.02)
        reporter(score=i)


class Steering(Service):
    """Waits for the run's first results, then adds two trials, stops the long one, and records what
    it saw; after the run, its ``control`` still lists the trials and refuses changes."""

    made: list[Steering] = []

    def __init__(self, control: ExperimentControl, port: int = 0) -> None:
        self.control, self.port = control, port
        self.seen: dict[str, Any] = {}
        self.errors: list[BaseException] = []
        self.closed = False
        self._thread = threading.Thread(target=self._steer, daemon=True)
        self._thread.start()
        Steering.made.append(self)

    def _steer(self) -> None:
        try:
            control = self.control
            deadline = time.monotonic() + 10
            while not any(t["last_result"] for t in control.trials()) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.seen["first"] = control.trials()
            self.seen["added"] = control.add_trials("added", {"run": "tests.trainables:counting",
                                                             "config": {"iters": tune.grid_search([2, 3])}})
            with pytest.raises(tune.TuneError, match="unknown spec key 'stopp'"):
                control.add_trials("bad", {"run": "tests.trainables:counting", "stopp": {}})
            long = next(t for t in self.seen["first"] if t["config"]["iters"] == 200)
            self.seen["stopped"] = control.stop_trial(long["trial_id"])
            with pytest.raises(tune.TuneError, match="no trial with id 'nope'"):
                control.stop_trial("nope")
            self.seen["status"] = control.status()
        except BaseException as exc:
            self.errors.append(exc)

    def close(self) -> None:
        self._thread.join(10)
        self.closed = True


class Server:
    @hookimpl
    def tune_services(self) -> Iterator[ServiceSpec]:
        yield ServiceSpec(name="server", factory=Steering)


def test_hook_tune_services(
        register_plugin: Callable[..., str], local_dir: Path) -> None:
    """A service lists, adds and stops trials of the running experiment from its own thread."""
    register_plugin(Server(), name="steering")
    Steering.made.clear()
    trials = tune.run_experiments(
        {"steered": {"run": slow, "local_dir": str(local_dir), "config": {"iters": tune.grid_search([5, 200])}}},
        with_server=True, server_port=4321, executor="thread", verbose=0)
    [service] = Steering.made
    assert not service.errors, service.errors
    assert service.port == 4321 and service.closed
    assert [t["status"] for t in service.seen["first"]].count("RUNNING") >= 1
    assert [t["config"] for t in service.seen["added"]] == [{"iters": 2}, {"iters": 3}]
    assert service.seen["stopped"]["config"] == {"iters": 200}
    assert service.seen["status"]["trials"] == 4
    # The run: the added trials ran to their end in their own experiment directory, the stopped one ended early.
    by_config = {(t.experiment_name, t.config["iters"]): t for t in trials}
    assert set(by_config) == {("steered", 5), ("steered", 200), ("added", 2), ("added", 3)}
    assert all(t.status == "TERMINATED" for t in trials)
    assert by_config[("steered", 200)].last_result["training_iteration"] < 200
    added = by_config[("added", 3)]
    assert Path(str(added.logdir)).parent == local_dir / "added"
    lines = Path(str(added.logdir), "result.json").read_text().splitlines()
    assert [json.loads(line)["score"] for line in lines] == [0, 1, 2]
    # After the run: the listing still answers, changes are refused.
    control = service.control
    assert control.finished and len(control.trials()) == 4
    with pytest.raises(tune.TuneError, match="cannot add trials: the experiment has finished"):
        control.add_trials("late", {"run": "tests.trainables:counting"})


def test_with_server_without_the_plugin_says_what_to_install(local_dir: Path) -> None:
    with pytest.raises(tune.TuneError, match=r"service 'server' comes with the tune-server plugin, which is "
                                             r"not installed: pip install tune-server"):
        tune.run_experiments({"e": {"run": slow, "local_dir": str(local_dir)}}, with_server=True, verbose=0)
    assert not (local_dir / "e").exists()  # Refused before anything ran.


def test_summaries_are_json() -> None:
    assert json_safe({"a": float("nan"), "b": (1, 2.5), "c": {3: object}, "d": [float("inf")]}) == {
        "a": None, "b": [1, 2.5], "c": {"3": repr(object)}, "d": [None]}
