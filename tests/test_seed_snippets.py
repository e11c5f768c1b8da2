"""The seed document's snippets, with only their import lines changed, run for real."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tune_core as tune
from tune_core import Trainable, register_trainable, run_experiments
from tune_core.util import get_pinned_object, pin_in_object_store


def _spec(local_dir: Path, **spec: Any) -> dict[str, Any]:
    return {"local_dir": str(local_dir), **spec}


def test_quick_start(local_dir: Path) -> None:
    def train_func(config: dict[str, Any], reporter: Any) -> None:  # add a reporter argument
        accuracy = 0.0
        for idx in range(1000):
            accuracy += config["lr"] * 100 * (1 + config["momentum"])
            reporter(timesteps_total=idx, mean_accuracy=accuracy)  # report metrics

    tune.register_trainable("train_func", train_func)
    trials = tune.run_experiments({
        "my_experiment": _spec(local_dir, **{
            "run": "train_func",
            "stop": {"mean_accuracy": 99},
            "config": {
                "lr": tune.grid_search([0.2, 0.4, 0.6]),
                "momentum": tune.grid_search([0.1, 0.2]),
            },
        })
    }, verbose=0)
    assert [t.name for t in trials] == [
        "train_func_0_lr=0.2,momentum=0.1", "train_func_1_lr=0.4,momentum=0.1",
        "train_func_2_lr=0.6,momentum=0.1", "train_func_3_lr=0.2,momentum=0.2",
        "train_func_4_lr=0.4,momentum=0.2", "train_func_5_lr=0.6,momentum=0.2",
    ]
    for trial in trials:
        assert trial.status == "TERMINATED"
        assert trial.last_result["mean_accuracy"] >= 99
        previous = trial.last_result["mean_accuracy"] - trial.config["lr"] * 100 * (1 + trial.config["momentum"])
        assert previous < 99, "the trial ran past its stop criterion"


def test_large_object_shared_with_every_trial(local_dir: Path) -> None:
    X_id = pin_in_object_store(np.random.random(size=100_000))

    def f(config: dict[str, Any], reporter: Any) -> None:
        X = get_pinned_object(X_id)
        reporter(mean=float(X.mean()), n=len(X))

    register_trainable("f", f)
    trials = run_experiments({"pinned": _spec(local_dir, run="f", num_samples=2)}, verbose=0)
    assert {t.last_result["n"] for t in trials} == {100_000}


class MyClass(Trainable):
    """The seed's checkpointing Trainable, with a file standing in for the TensorFlow saver."""

    def _setup(self) -> None:
        self.iteration_count = 0

    def _train(self) -> dict[str, Any]:
        self.iteration_count += 1
        return {"mean_accuracy": self.iteration_count, "timesteps_this_iter": 10}

    def _save(self, checkpoint_dir: str) -> str:
        path = checkpoint_dir + "/save"
        with open(path, "w") as f:
            json.dump({"iteration": self.iteration_count}, f)
        return path

    def _restore(self, path: str) -> None:
        with open(path) as f:
            self.iteration_count = json.load(f)["iteration"]


def test_checkpointing_trainable_with_freq_and_max_failures(local_dir: Path) -> None:
    register_trainable("my_class", MyClass)
    trials = run_experiments({
        "my_experiment": _spec(local_dir, run="my_class", stop={"training_iteration": 25},
                               checkpoint_freq=10, max_failures=5),
    }, verbose=0)
    (trial,) = trials
    assert trial.status == "TERMINATED" and trial.last_result["timesteps_total"] == 250
    checkpoints = sorted(p.name for p in Path(trial.logdir).glob("checkpoint_*"))
    assert checkpoints == ["checkpoint_000010", "checkpoint_000020"]
    assert os.path.exists(Path(trial.logdir, "checkpoint_000020", "save"))


def test_trainable_save_and_restore_directly(tmp_path: Path) -> None:
    first = MyClass()
    for _ in range(3):
        first.train()
    path = first.save(str(tmp_path / "ckpt"))
    second = MyClass()
    second.restore(path)
    assert second.train()["mean_accuracy"] == 4
    assert second.training_iteration == 4
    third = MyClass()
    third.restore_from_object(first.save_to_object())
    assert third.train()["mean_accuracy"] == 4


@pytest.mark.parametrize("scheduler", ["median-stopping", "MedianStopping", "FIFO"])
def test_scheduler_by_seed_style_name(local_dir: Path, scheduler: str) -> None:
    def train(config: dict[str, Any], reporter: Any) -> None:
        for i in range(5):
            reporter(episode_reward_mean=i * config["x"])

    config = None if scheduler == "FIFO" else {"grace_period": 0}
    trials = run_experiments({"m": _spec(local_dir, run=train, config={"x": tune.grid_search([1, 2])})},
                             scheduler=scheduler, scheduler_config=config, verbose=0)
    assert {t.status for t in trials} == {"TERMINATED"}


class Scored(Trainable):
    """Reports a score that peaks at iteration 3, to rank checkpoints."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.step = 0

    def _train(self) -> dict[str, Any]:
        self.step += 1
        return {"score": -abs(self.step - 3)}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"step": self.step}

    def _restore(self, checkpoint: Any) -> None:
        self.step = checkpoint["step"]


def test_keep_checkpoints_num_keeps_the_best_and_the_latest(local_dir: Path) -> None:
    (trial,) = run_experiments({"keep": _spec(local_dir, run=Scored, stop={"training_iteration": 6},
                                              checkpoint_freq=1, keep_checkpoints_num=2,
                                              checkpoint_score_attr="score")}, verbose=0)
    kept = sorted(p.name for p in Path(trial.logdir).glob("checkpoint_*"))
    # The best two by score are iterations 3 (score 0) and 4 (-1, the later of the ties); the newest
    # (5; iteration 6 ends the trial) is kept as well, for a restart.
    assert kept == ["checkpoint_000003", "checkpoint_000004", "checkpoint_000005"]
    assert trial.checkpoint and trial.checkpoint.endswith("checkpoint_000005")


@pytest.mark.parametrize(("keep", "expected"), [
    (1, [3, 5]),          # the best (3, score 0) and the newest
    (3, [2, 3, 4, 5]),    # 3 (0), then the ties at -1 (4 before 2, the later first), and the newest
])
def test_keep_checkpoints_num_at_its_bounds(local_dir: Path, keep: int, expected: list[int]) -> None:
    (trial,) = run_experiments({"keep": _spec(local_dir, run=Scored, stop={"training_iteration": 6},
                                              checkpoint_freq=1, keep_checkpoints_num=keep,
                                              checkpoint_score_attr="score")}, verbose=0)
    kept = sorted(int(p.name.rpartition("_")[2]) for p in Path(trial.logdir).glob("checkpoint_*"))
    assert kept == expected
