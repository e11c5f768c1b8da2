"""The whole Ray cluster goes away mid-run: the driver ends (Ray may end its process), what it recorded
is intact, and ``tune-core resume`` continues the experiment on a new Ray, every iteration logged once.

Three processes, as in real life: one holds the cluster (``ray.cluster_utils.Cluster``), one is the
user's driver connected to it by address, and the test, which shuts the cluster down mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOLDER = r'''
import signal, sys, time
from ray.cluster_utils import Cluster

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False,
                                                        "object_store_memory": 100 * 2**20})
print(cluster.address, flush=True)


def leave(*_):
    cluster.shutdown()
    sys.exit(0)


signal.signal(signal.SIGTERM, leave)
while True:
    time.sleep(0.1)
'''

DRIVER = r'''
import sys
import ray_trainables
import tune_core

tune_core.run_experiments(
    {"lost": {"run": ray_trainables.NodeCounter, "local_dir": sys.argv[2], "checkpoint_freq": 2,
              "config": {"sleep": 0.1, "marks": sys.argv[3], "i": tune_core.grid_search([0, 1])},
              "stop": {"training_iteration": 40}}},
    executor="ray", executor_config={"address": sys.argv[1]}, verbose=0)
'''

ITERATIONS = 40


def _env() -> dict[str, str]:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": ""}


@pytest.mark.timeout(170)
def test_resume_on_a_new_ray_after_the_cluster_went_away(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=_env(),
                              start_new_session=True)
    try:
        address = (holder.stdout.readline() if holder.stdout else "").strip()
        assert address, "the cluster did not start"
        driver = subprocess.Popen([sys.executable, "-c", DRIVER, address, str(tmp_path / "results"), str(marks)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 16 and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        assert driver.poll() is None and len(list(marks.iterdir())) >= 16, "the trials did not get going"
        holder.send_signal(signal.SIGTERM)  # The cluster goes away, every node of it.
        holder.wait(30)
        try:
            out, _ = driver.communicate(timeout=90)  # It ends: no hang.
        except subprocess.TimeoutExpired:
            driver.kill()
            raise
        assert driver.returncode != 0, out[-3000:]
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()

    experiment = tmp_path / "results" / "lost"
    state = json.loads((experiment / "experiment_state.json").read_text())  # Intact and readable.
    assert [t["status"] for t in state["trials"]] == ["RUNNING", "RUNNING"], state["trials"]

    # On a new Ray (a local one the executor starts, as a new cluster would be given by address).
    resumed = subprocess.run(
        [sys.executable, "-m", "tune_core", "resume", str(experiment), "--executor", "ray",
         "--executor-config", '{"num_cpus": 2}', "-v", "0"],
        capture_output=True, text=True, timeout=120, env=_env(), cwd=Path(__file__).parent)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    for trial_dir in sorted(p for p in experiment.iterdir() if p.is_dir()):
        lines = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
        assert [r["training_iteration"] for r in lines] == list(range(1, ITERATIONS + 1)), trial_dir
        assert any(r["restored_from"] for r in lines), f"{trial_dir.name} started over instead of resuming"
