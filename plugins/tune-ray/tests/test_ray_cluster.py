"""A Ray cluster of several nodes on this one machine (``ray.cluster_utils.Cluster``), and the loss of a
node while trials run on it.

The cluster runs in a subprocess of its own, so it does not clash with the session's local Ray; the
script connects the executor to it by address (``executor_config={"address": cluster.address}``) and
prints one ``CHECK`` line per finding, which the test reads back. Nodes: a head with no CPU (no trial
runs there, and it is never the node lost), ``big`` with 2 CPUs and ``small`` with 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

SCRIPT = r'''
import json, os, subprocess, sys, tempfile, threading, time
from pathlib import Path

import psutil
import ray
from ray.cluster_utils import Cluster

import ray_trainables
import tune_core
from tune_core.testing import ExecutorDriver
from tune_core.interfaces import TrialFailed, TrialFinished
from tune_ray.executor import RayExecutor

root = Path(sys.argv[1])
marks = root / "marks"
marks.mkdir(parents=True)


def check(name, value):
    print("CHECK", json.dumps({"name": name, "value": value}), flush=True)


def node_args(cpus, name):
    return {"num_cpus": cpus, "object_store_memory": 100 * 2**20, "resources": {name: 1},
            "include_dashboard": False}


# A node that stops answering is declared dead after ~1.5 s, not Ray's ~30 s.
cluster = Cluster(initialize_head=True, head_node_args={
    **node_args(0, "head"),
    "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 3}})
try:
    big = cluster.add_node(**node_args(2, "big"))
    small = cluster.add_node(**node_args(1, "small"))
    cluster.wait_for_nodes()

    # 1 and 2: three 1-CPU trials fill both workers; "big" goes when a trial on it is at iteration 5.
    def remove_big():
        while not any(p.name.startswith(big.node_id + "-") and int(p.name.rsplit("-", 1)[1]) >= 5
                      for p in marks.iterdir()):
            time.sleep(0.05)
        cluster.remove_node(big, allow_graceful=False)  # as a crash: SIGKILL, no goodbye to the GCS
        check("removed", True)

    remover = threading.Thread(target=remove_big, daemon=True)
    remover.start()
    began = time.monotonic()
    trials = tune_core.run_experiments(
        {"lose": {"run": ray_trainables.NodeCounter, "local_dir": str(root / "results"),
                  "config": {"sleep": 0.25, "marks": str(marks), "i": tune_core.grid_search([0, 1, 2])},
                  "stop": {"training_iteration": 12}, "max_failures": 2, "checkpoint_freq": 2}},
        executor="ray", executor_config={"address": cluster.address}, verbose=0, raise_on_failed_trial=False)
    check("run_s", round(time.monotonic() - began, 1))
    remover.join(5)
    check("workers", sorted([big.node_id, small.node_id]))
    for trial in trials:
        lines = [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]
        check("trial", {"status": trial.status, "failures": trial.num_failures,
                        "iterations": [r["training_iteration"] for r in lines],
                        "nodes": sorted({r["ray_node"] for r in lines}), "first_node": lines[0]["ray_node"],
                        "node_named": all(r["node"] == r["ray_node"][:8] for r in lines),
                        "checkpoints": sorted(p.name for p in Path(trial.logdir).glob("checkpoint_*")),
                        "restored_from": sorted({r["restored_from"] for r in lines if r["restored_from"]})})
    state = json.loads((root / "results" / "lose" / "experiment_state.json").read_text())
    check("state_executor", state["executor"])
    ls = subprocess.run([sys.executable, "-m", "tune_core", "ls", str(root / "results" / "lose")],
                        capture_output=True, text=True)
    check("ls", {"out": ls.stdout, "err": ls.stderr})
    check("scratch_left", sorted(str(p) for p in Path(tempfile.gettempdir(), "tune-ray").rglob("checkpoint_*")
                                 if trials[0].experiment_id in str(p)))

    # A trial whose only fitting node goes away ends in ERROR, saying so, instead of waiting forever.
    solo = cluster.add_node(**node_args(1, "solo"))
    cluster.wait_for_nodes()

    def remove_solo():
        while not any(p.name.startswith(solo.node_id + "-") and int(p.name.rsplit("-", 1)[1]) >= 3
                      for p in marks.iterdir()):
            time.sleep(0.05)
        cluster.remove_node(solo, allow_graceful=False)

    threading.Thread(target=remove_solo, daemon=True).start()
    began = time.monotonic()
    [alone] = tune_core.run_experiments(
        {"alone": {"run": ray_trainables.NodeCounter, "local_dir": str(root / "results"),
                   "resources": {"cpu": 1, "solo": 1}, "max_failures": 3,
                   "config": {"sleep": 0.1, "marks": str(marks)}, "stop": {"training_iteration": 200}}},
        executor="ray", executor_config={"address": cluster.address}, verbose=0, raise_on_failed_trial=False)
    check("alone", {"status": alone.status, "run_s": round(time.monotonic() - began, 1),
                    "error": Path(alone.error_file).read_text()[-400:] if alone.error_file else None})

    # An idle actor whose node is lost is not given the next trial (or it costs that trial a failure).
    spare = cluster.add_node(**node_args(1, "spare"))
    cluster.wait_for_nodes()
    executor = RayExecutor(address=cluster.address)
    try:
        driver = ExecutorDriver(executor, root / "direct")
        first = driver.run(driver.launch(ray_trainables.NodeCounter, {"until": 2}))
        where = first.results[-1]["ray_node"]
        cluster.remove_node({small.node_id: small, spare.node_id: spare}[where], allow_graceful=False)
        # Lost while its actor idles: the GCS knows (the executor is not told), its workers are gone.
        deadline = time.monotonic() + 30
        while any(n["NodeID"] == where and n["Alive"] for n in ray.nodes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        second = driver.run(driver.launch(ray_trainables.NodeCounter, {"until": 2}))
        check("after_idle_loss", {"ending": type(second.ending).__name__, "moved": second.results[-1]["ray_node"] != where
                                  if second.results else None,
                                  "error": getattr(second.ending, "error", "")[-300:]})
    finally:
        executor.shutdown()
finally:
    ray.shutdown()
    cluster.shutdown()
left = [p.pid for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
check("left", left)
'''


def _checks(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("CHECK "):]) for line in stdout.splitlines() if line.startswith("CHECK ")]


def test_trials_spread_over_nodes_and_survive_the_loss_of_one(tmp_path: Path) -> None:
    began = time.monotonic()
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path)], capture_output=True,
                         text=True, timeout=150, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    took = time.monotonic() - began
    checks = _checks(out.stdout)
    found: dict[str, Any] = {c["name"]: c["value"] for c in checks}
    trials = [c["value"] for c in checks if c["name"] == "trial"]
    why = f"took {took:.0f}s\n{out.stdout}\n{out.stderr[-4000:]}"
    assert out.returncode == 0 and "left" in found, why
    workers = set(found["workers"])

    # 1. The trials spread over both workers (and none ran on the CPU-less head).
    seen = {node for trial in trials for node in trial["nodes"]}
    assert seen <= workers and len({trial["first_node"] for trial in trials}) > 1, why

    # 2. The lost node's trials failed, restarted from a checkpoint, and every trial got to 12, each
    # iteration logged exactly once.
    assert found.get("removed"), why
    assert len(trials) == 3 and all(t["status"] == "TERMINATED" for t in trials), why
    assert all(t["iterations"] == list(range(1, 13)) for t in trials), why
    moved = [t for t in trials if t["failures"]]
    assert moved and all(t["restored_from"] and len(t["nodes"]) == 2 for t in moved), why

    # Results name the node (``node``); every checkpoint came back to the driver's storage (the trials
    # ran on other nodes than the driver's, so as bytes) and none is left on the nodes.
    assert all(t["node_named"] and t["checkpoints"] for t in trials), why
    assert found["scratch_left"] == [], why
    # The status line of the cluster, kept in the state, saw the lost node; ``tune-core ls`` shows it
    # and a node column.
    assert "Ray cluster" in found["state_executor"] and "1 node lost" in found["state_executor"], why
    assert found["ls"]["out"].split()[2] == "node" and "Ray cluster" in found["ls"]["err"], why
    # The trial whose only fitting node went away: ERROR, saying so, soon.
    alone = found["alone"]
    assert alone["status"] == "ERROR" and alone["run_s"] < 30, why
    assert "can no longer run" in alone["error"] or "went away" in alone["error"], why

    # An idle actor lost with its node does not take (and fail) the next trial.
    assert found["after_idle_loss"]["ending"] == "TrialFinished" and found["after_idle_loss"]["moved"], why

    # 3. Nothing of the cluster is left running.
    assert found["left"] == [], why
    assert took < 120, why
