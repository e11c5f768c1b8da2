"""The seed's Client API case, for real: an experiment of 1-GPU trials on the local (process) executor
with one GPU, listed, extended and stopped through TuneClient while it runs; plus ``tune-core client``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import finish, serve
from tune_server import TuneClient

import tune_core as tune

GPU_TRIAL = {"run": "server_trainables:steps", "stop": {"training_iteration": 3},
             "config": {"sleep": 0.3}, "resources": {"cpu": 1, "gpu": 1}}


def running(trials: list[dict]) -> list[dict]:
    return [t for t in trials if t["status"] == "RUNNING"]


def test_client_api(local_dir: Path) -> None:
    served = serve(local_dir, "gpu", {**GPU_TRIAL, "num_samples": 2},
                   executor="local", executor_config={"num_cpus": 4, "num_gpus": 1})
    client = served.client()
    assert len(client.get_all_trials()) == 2
    [added] = client.add_trial("test", GPU_TRIAL)
    assert added["experiment"] == "test" and added["config"] == {"sleep": 0.3}
    assert len(client.get_all_trials()) == 3
    assert client.get_trial(added["trial_id"])["trial_id"] == added["trial_id"]
    # One GPU: never more than one trial RUNNING; wait for one to have reported its first result.
    deadline = time.monotonic() + 30
    while True:
        now = running(client.get_all_trials())
        assert len(now) <= 1, now
        if now and (now[0]["last_result"] or {}).get("training_iteration", 0) >= 1:
            break
        assert time.monotonic() < deadline, "no trial reported"
        time.sleep(0.05)
    stopped = client.stop_trial(now[0]["trial_id"])
    assert stopped["status"] == "TERMINATED"
    after = {t["trial_id"]: t for t in client.get_all_trials()}
    assert after[stopped["trial_id"]]["status"] == "TERMINATED"
    assert len(running(list(after.values()))) <= 1  # The next one may have taken the GPU already.
    trials = finish(served, stop=False)
    assert {t.status for t in trials} == {"TERMINATED"}  # 0 RUNNING at the end.
    iterations = {t.trial_id: (t.last_result or {}).get("training_iteration", 0) for t in trials}
    assert 1 <= iterations[stopped["trial_id"]] < 3
    assert sorted(i for tid, i in iterations.items() if tid != stopped["trial_id"]) == [3, 3]
    # Every trial's files are complete: one result line per iteration it reported, params written.
    for trial in trials:
        logdir = Path(str(trial.logdir))
        lines = [json.loads(line) for line in (logdir / "result.json").read_text().splitlines()]
        assert [r["training_iteration"] for r in lines] == list(range(1, iterations[trial.trial_id] + 1))
        assert json.loads((logdir / "params.json").read_text()) == {"sleep": 0.3}
    assert Path(str(trials[-1].logdir)).parent == local_dir / "test"
    for name in ("gpu", "test"):
        state = json.loads((local_dir / name / "experiment_state.json").read_text())
        assert len(state["trials"]) == (2 if name == "gpu" else 1), name
    # After the run the server is gone: a clear error.
    try:
        client.get_all_trials()
        raise AssertionError("the server still answers after the run")
    except tune.TuneError as exc:
        assert "cannot reach the Tune server" in str(exc)


def test_cli_client(local_dir: Path) -> None:
    served = serve(local_dir, "cli", {"run": "server_trainables:steps", "config": {"sleep": 0.05, "iters": 100000}},
                   executor="thread")
    env = {**os.environ, "TUNE_STRICT_PLUGINS": "1"}
    base = [sys.executable, "-m", "tune_core", "client", "--experiment-dir", str(served.experiment_dir)]
    listed = subprocess.run([*base, "ls"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["trial_id", "name", "status", "training_iteration", "location"]
    trial_id = TuneClient(experiment_dir=served.experiment_dir).get_all_trials()[0]["trial_id"]
    assert trial_id in listed.stdout
    added = subprocess.run([*base, "add", "more", json.dumps({"run": "server_trainables:steps",
                                                               "config": {"iters": 2, "sleep": 0.01}})],
                           capture_output=True, text=True, env=env, timeout=60)
    assert added.returncode == 0, added.stderr
    bad = subprocess.run([*base, "add", "bad", '{"run": "server_trainables:steps", "stopp": {}}'],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "unknown spec key 'stopp'" in bad.stderr, bad.stderr
    wrong = subprocess.run([*base, "--token", "nope", "ls"], capture_output=True, text=True, env=env, timeout=60)
    assert wrong.returncode == 1 and "401" in wrong.stderr and "bearer token" in wrong.stderr
    stopped = subprocess.run([*base, "stop", trial_id], capture_output=True, text=True, env=env, timeout=60)
    assert stopped.returncode == 0 and stopped.stdout.split() == [trial_id, "TERMINATED"], stopped.stderr
    trials = finish(served)
    assert {t.experiment_name for t in trials} == {"cli", "more"}
