"""A cluster that grows on demand is told apart from a fixed one: a trial that no node fits now waits
for a node (the test adds it, as Ray's autoscaler would) instead of being refused.

The cluster (``ray.cluster_utils.Cluster``) lives in a subprocess of its own, as in
``test_ray_cluster.py``; the script prints ``CHECK`` lines the test reads back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SCRIPT = r'''
import json, sys, threading, time
from pathlib import Path

import ray_trainables
import tune_core
from ray.cluster_utils import Cluster

root = Path(sys.argv[1])


def check(name, value):
    print("CHECK", json.dumps({"name": name, "value": value}), flush=True)


cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                        "object_store_memory": 100 * 2**20})
try:
    # A fixed cluster: a trial asking for a "big" node is refused at once, naming what it asks for.
    try:
        tune_core.run_experiments({"fixed": {"run": ray_trainables.climb, "local_dir": str(root),
                                             "resources": {"cpu": 1, "big": 1}, "config": {"quality": 1}}},
                                  executor="ray", executor_config={"address": cluster.address}, verbose=0)
        check("fixed", "ran")
    except tune_core.TuneError as error:
        check("fixed", str(error))

    # An autoscaling one, which may grow to one "big" node: the trial waits until such a node joins
    # (the run goes on in a thread; Ray adds nodes from the main thread only).
    done = []

    def run():
        done.extend(tune_core.run_experiments(
            {"grows": {"run": ray_trainables.climb, "local_dir": str(root), "resources": {"cpu": 1, "big": 1},
                       "config": {"quality": 2, "n": 3}}},
            executor="ray", executor_config={"address": cluster.address, "autoscaling": {"CPU": 2, "big": 1}},
            verbose=0))

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    time.sleep(4.0)
    check("waiting", runner.is_alive())
    cluster.add_node(num_cpus=1, resources={"big": 1}, object_store_memory=100 * 2**20)
    runner.join(60)
    [trial] = done
    lines = [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]
    check("grows", {"status": trial.status, "scores": [r["score"] for r in lines]})
finally:
    import ray

    ray.shutdown()
    cluster.shutdown()
'''


def _checks(stdout: str) -> dict[str, Any]:
    found = [json.loads(line[len("CHECK "):]) for line in stdout.splitlines() if line.startswith("CHECK ")]
    return {c["name"]: c["value"] for c in found}


def test_a_trial_waits_for_an_autoscaling_cluster_to_add_a_node(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": ""})
    found = _checks(out.stdout)
    why = f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert out.returncode == 0, why
    assert "it needs 1 'big' but the executor has 0" in found["fixed"], why
    assert found["waiting"], why  # No error, no end: it waited for the node.
    grows = found["grows"]
    assert grows["status"] == "TERMINATED" and grows["scores"] == [2, 4, 6], why
    assert "waiting for the cluster to add a node that can hold a trial asking for 1 CPU, 1 big" in out.stderr, why
