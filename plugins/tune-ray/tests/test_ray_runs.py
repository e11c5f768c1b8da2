"""Whole experiments with ``executor="ray"`` on the session's local Ray, and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import ray_trainables
from tune_ray.executor import RayExecutor

import tune_core
from tune_core import TuneError
from tune_core.interfaces import Resources, TrialLaunch

pytestmark = pytest.mark.usefixtures("ray_session")


def _lines(trial: Any) -> list[str]:
    return Path(trial.logdir, "result.json").read_text().splitlines()


def test_function_trainable_fifo(local_dir: Path) -> None:
    trials = tune_core.run_experiments(
        {"climb": {"run": ray_trainables.climb, "local_dir": str(local_dir),
                   "config": {"quality": tune_core.grid_search([1, 2, 3]), "n": 4}}},
        executor="ray", scheduler="fifo", verbose=0)
    assert sorted((t.config["quality"], t.status) for t in trials) == [
        (1, "TERMINATED"), (2, "TERMINATED"), (3, "TERMINATED")]
    assert all(len(_lines(t)) == 4 for t in trials)
    pids = {t.last_result["pid"] for t in trials}
    assert os.getpid() not in pids, "the trials ran in the driver"


def test_class_trainable_checkpoints_and_resume_from_them(local_dir: Path) -> None:
    trials = tune_core.run_experiments(
        {"acc": {"run": ray_trainables.Accumulator, "local_dir": str(local_dir),
                 "config": {"until": 6, "step": 1}, "checkpoint_freq": 2, "checkpoint_at_end": True}},
        executor="ray", verbose=0)
    [trial] = trials
    assert trial.status == "TERMINATED" and trial.last_result["total"] == 6
    kept = sorted(p.name for p in Path(trial.logdir).iterdir() if p.name.startswith("checkpoint_"))
    assert kept[-1] == "checkpoint_000006"
    # A new experiment restores from the first run's checkpoint, in an actor as well.
    again = tune_core.run_experiments(
        {"acc2": {"run": ray_trainables.Accumulator, "local_dir": str(local_dir),
                  "config": {"until": 9, "step": 1}, "restore": str(Path(trial.logdir, "checkpoint_000004"))}},
        executor="ray", verbose=0)
    assert again[0].last_result["total"] == 9 and again[0].last_result["restored_from"] == 4


def test_median_stopping_stops_the_poor_trials_early(local_dir: Path) -> None:
    qualities = [3, 2, 0.1, 0.05, 0.01]
    trials = tune_core.run_experiments(
        {"median": {"run": ray_trainables.climb, "local_dir": str(local_dir), "resources": {"cpu": 2},
                    "config": {"quality": tune_core.grid_search(qualities), "n": 20, "sleep": 0.01}}},
        executor="ray", scheduler="median-stopping",
        scheduler_config={"metric": "score", "mode": "max", "time_attr": "training_iteration",
                          "grace_period": 1, "min_samples_required": 2},
        verbose=0)
    lengths = {t.config["quality"]: len(_lines(t)) for t in trials}
    assert all(t.status == "TERMINATED" for t in trials)
    assert lengths[3] == 20 and lengths[2] == 20
    assert lengths[0.01] < 20, f"median stopping ended no poor trial early: {lengths}"


def test_a_gpu_trial_on_a_cpu_only_cluster_is_a_clear_error(local_dir: Path) -> None:
    with pytest.raises(TuneError, match=r"(?i)gpu"):
        tune_core.run_experiments(
            {"gpu": {"run": ray_trainables.climb, "local_dir": str(local_dir),
                     "resources": {"cpu": 1, "gpu": 1}, "config": {"quality": 1}}},
            executor="ray", verbose=0)


@pytest.mark.parametrize(("resources", "named"), [(Resources(cpu=1, gpu=0.5), "GPU"),
                                                  (Resources(cpu=64), "CPU"),
                                                  (Resources(cpu=1, custom={"tpu": 1}), "tpu")])
def test_resources_no_node_has_are_named(resources: Resources, named: str, tmp_path: Path) -> None:
    """Even when the runner's totals would allow it (a plugin's own accounting, a changed cluster)."""
    executor = RayExecutor()
    try:
        launch = TrialLaunch(trial_id="t1", trainable_name="climb", trainable=ray_trainables.climb,
                             config={"quality": 1}, logdir=str(tmp_path), resources=resources)
        with pytest.raises(TuneError, match=f"no node of the Ray cluster can hold.*missing.*{named}"):
            executor.start_trial(launch)
    finally:
        executor.shutdown()


def test_total_resources_come_from_the_cluster() -> None:
    executor = RayExecutor()
    try:
        total = executor.total_resources()
        assert total.cpu == 4 and total.gpu == 0
    finally:
        executor.shutdown()
    import ray

    assert ray.is_initialized(), "the executor shut down a Ray session it did not start"


def test_without_ray_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # ``import ray`` raises ImportError.
    with pytest.raises(TuneError) as info:
        RayExecutor()
    assert str(info.value) == "tune-ray needs ray: pip install 'ray>=2.9'"


def _python(code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})


def test_a_bad_address_fails_quickly() -> None:
    began = time.monotonic()
    out = _python("""
        import tune_core
        try:
            tune_core.run_experiments({"x": {"run": lambda config, reporter: reporter(i=1)}},
                                      executor="ray", executor_config={"address": "127.0.0.1:1"}, verbose=0)
        except tune_core.TuneError as error:
            print("TuneError:", error)
    """, timeout=60)
    assert "TuneError: ray executor: no Ray cluster answers at '127.0.0.1:1'" in out.stdout, out.stderr
    assert time.monotonic() - began < 30


def test_a_ray_it_starts_is_shut_down_at_the_end(tmp_path: Path) -> None:
    out = _python(f"""
        import ray, tune_core, ray_trainables
        trials = tune_core.run_experiments(
            {{"x": {{"run": ray_trainables.climb, "config": {{"quality": 1, "n": 3}}, "local_dir": {str(tmp_path)!r}}}}},
            executor="ray", executor_config={{"num_cpus": 2, "object_store_memory": 100 * 2**20}}, verbose=0)
        import psutil
        left = [p.pid for p in psutil.Process().children(recursive=True) if p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]
        print("status", trials[0].status, "initialized", ray.is_initialized(), "left", left)
    """, timeout=120)
    assert "status TERMINATED initialized False left []" in out.stdout, out.stdout + out.stderr[-3000:]


def test_an_idle_actor_runs_the_next_trial_of_the_same_resources(tmp_path: Path) -> None:
    from tune_core.testing import ExecutorDriver

    executor = RayExecutor()
    try:
        driver = ExecutorDriver(executor, tmp_path)
        first = driver.run(driver.launch(ray_trainables.climb, {"quality": 1, "n": 2}))
        second = driver.run(driver.launch(ray_trainables.climb, {"quality": 1, "n": 2}))
        assert first.results[0]["pid"] == second.results[0]["pid"]
    finally:
        executor.shutdown()


def test_a_failing_trainable_of_a_script_names_the_script_line(tmp_path: Path) -> None:
    # Code of __main__ travels by value; its traceback must still name the user's file and line.
    script = tmp_path / "my_experiment.py"
    script.write_text(textwrap.dedent(f"""
        import tune_core

        def broken(config, reporter):
            reporter(step=1)
            raise ValueError("the user's own bug")

        if __name__ == "__main__":
            (trial,) = tune_core.run_experiments(
                {{"x": {{"run": broken, "local_dir": {str(tmp_path)!r}}}}}, executor="ray",
                executor_config={{"num_cpus": 1, "object_store_memory": 100 * 2**20}}, verbose=0,
                raise_on_failed_trial=False)
            print("ERROR FILE", trial.error_file)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert "ERROR FILE" in out.stdout, out.stdout + out.stderr[-3000:]
    error = Path(out.stdout.split("ERROR FILE ", 1)[1].strip()).read_text()
    assert f'File "{script}", line 6, in broken' in error and "the user's own bug" in error, error
