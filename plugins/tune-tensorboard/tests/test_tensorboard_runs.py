"""Real runs, read back with TensorBoard's readers: every scalar of every result once, steps strictly
increasing, after a failure recovered from a checkpoint, after pauses and resumes, and after an
experiment interrupted and resumed; the config and the ending in the HParams plugin's data.

The main tests use the default local executor (worker processes); the loggers are the default set,
so the ``tensorboard`` logger runs because it is installed (``default_on``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import tb_read
from tb_trainables import Counter, non_finite
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import api_pb2
from tune_tensorboard import event_file

import tune_core as tune
from tune_core.interfaces import TERMINATED


def _raw_steps(logdir: str | Path, tag: str = "score") -> tuple[list[int], list[int]]:
    """What the file holds, unpurged: the steps of ``tag`` in order, and the steps of SessionLog.START."""
    runs = _runs(logdir, tag)
    return [step for run in runs for step in run[1]], [start for start, _ in runs]


def _runs(logdir: str | Path, tag: str = "score") -> list[tuple[int, list[int]]]:
    """The file split at each SessionLog.START: ``[(START's step, steps of tag after it), ...]``."""
    path = event_file(logdir)
    assert path is not None, f"no event file in {logdir}"
    runs: list[tuple[int, list[int]]] = []
    for event in EventFileLoader(path).Load():
        if event.HasField("session_log") and event.session_log.status == event.session_log.START:
            runs.append((event.step, []))
        for value in event.summary.value:
            if value.tag == tag:
                runs[-1][1].append(event.step)
    return runs


def _check_hparams(trial: Any, status: str = "STATUS_SUCCESS") -> None:
    start, end = tb_read.hparams(trial.logdir)
    assert start.hparams["scale"].number_value == trial.config["scale"]
    assert end is not None and end.status == api_pb2.Status.Value(status)


def test_failure_recovered_from_a_checkpoint(local_dir: Path, tmp_path: Path) -> None:
    """Each trial fails at iteration 5, is restarted from its checkpoint at 3 and reports 4 again."""
    trials = tune.run_experiments(
        {"fail": {"run": Counter, "config": {"scale": tune.grid_search([1.0, 2.0]), "fail_at": 5,
                                             "flag": str(tmp_path / "failed")},
                  "checkpoint_freq": 3, "max_failures": 1, "stop": {"training_iteration": 8},
                  "local_dir": str(local_dir)}},
        executor_config={"num_cpus": 2}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 2
    for trial in trials:
        assert tb_read.check_trial(trial.logdir, non_finite) == 8
        steps, starts = _raw_steps(trial.logdir)
        assert steps == [1, 2, 3, 4, 4, 5, 6, 7, 8]  # the file holds 4 twice: the START makes it once
        assert starts == [0, 4]
        _check_hparams(trial)
        assert {"info/lr", "nan_at_2", "inf", "score"} <= set(tb_read.scalars(trial.logdir))
        assert not {"info/ok", "flag", "phase", "done"} & set(tb_read.scalars(trial.logdir))


def test_pauses_and_resumes_under_hyperband(local_dir: Path) -> None:
    """HyperBand (max_t=9) pauses 8 trials at 3 and resumes the best of them from their checkpoints."""
    trials = tune.run_experiments(
        {"hb": {"run": Counter, "config": {"scale": tune.grid_search([0.1 * i for i in range(1, 14)])},
                "local_dir": str(local_dir)}},
        scheduler="hyperband", scheduler_config={"max_t": 9}, metric="score", mode="max",
        executor_config={"num_cpus": 2}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 13
    resumed = 0
    for trial in trials:
        count = tb_read.check_trial(trial.logdir, non_finite)
        assert count in (3, 9)
        steps, starts = _raw_steps(trial.logdir)
        assert steps == list(range(1, count + 1))
        resumed += starts == [0, 4]
        _check_hparams(trial)
    assert resumed >= 2


FIRST_RUN = """
import sys
sys.path.insert(0, {tests!r})
import tune_core as tune
tune.run_experiments({{"resume": {spec!r}}}, executor_config={{"num_cpus": 2}}, verbose=0)
"""


def test_experiment_interrupted_and_resumed(local_dir: Path, tmp_path: Path) -> None:
    """Ctrl-C at iteration 8 of one trial (checkpoints every 2) in a driver of its own; resumed here.
    The trials restart from their checkpoints and report again what they had reported after them."""
    spec = {"run": "tb_trainables:Counter", "stop": {"training_iteration": 12}, "checkpoint_freq": 2,
            "local_dir": str(local_dir),
            "config": {"scale": {"grid_search": [1.0, 2.0]}, "interrupt_at": 8, "flag": str(tmp_path / "flag")}}
    script = FIRST_RUN.format(tests=str(Path(__file__).parent), spec=spec)
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "interrupted" in first.stderr, first.stderr
    trials = tune.run_experiments({"resume": spec}, executor_config={"num_cpus": 2}, verbose=0, resume=True)
    assert [t.status for t in trials] == [TERMINATED] * 2
    repeated = 0
    for trial in trials:
        assert tb_read.check_trial(trial.logdir, non_finite) == 12
        runs = _runs(trial.logdir)
        (zero, before), *resumed = runs
        assert zero == 0 and before == list(range(1, len(before) + 1)), runs
        if resumed:  # The first run logged 1..k; the resume went on from the checkpoint at restart - 1 <= k.
            ((restart, after),) = resumed
            assert restart <= len(before) + 1 and after == list(range(restart, 13)), runs
            repeated += restart <= len(before)
        else:  # It had finished before the Ctrl-C.
            assert before == list(range(1, 13)), runs
        _check_hparams(trial)
    assert repeated >= 1, ("no trial had reported past its checkpoint: the purge went untested", [_runs(t.logdir) for t in trials])
