"""The seed document's snippets on ``executor="ray"``: its quick start, its habit of calling
``ray.init()`` and then ``run_experiments`` without naming an executor, and its large object pinned
once and read by every trial (on one node: from Ray's shared memory, without a copy per trial).

Snippets that need a Ray of their own (their own ``ray.init`` and ``ray.shutdown``) run as a user's
script in a subprocess, in a process group of its own, so that the session's Ray is left alone and a
script that hangs takes only its own processes with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tune_core as tune
from tune_core import register_trainable, run_experiments
from tune_core.util import get_pinned_object, pin_in_object_store

#: The trials of the seed's quick start (a 3 x 2 grid), in order.
QUICK_START_NAMES = [
    "train_func_0_lr=0.2,momentum=0.1", "train_func_1_lr=0.4,momentum=0.1", "train_func_2_lr=0.6,momentum=0.1",
    "train_func_3_lr=0.2,momentum=0.2", "train_func_4_lr=0.4,momentum=0.2", "train_func_5_lr=0.6,momentum=0.2",
]


def train_func(config: dict[str, Any], reporter: Any) -> None:  # add a reporter argument
    """The seed's trainable, a stand-in for its PyTorch model: accuracy grows by a fixed step a report."""
    accuracy = 0.0
    for idx in range(1000):
        accuracy += config["lr"] * 100 * (1 + config["momentum"])  # stands in for eval_accuracy(...)
        reporter(timesteps_total=idx, mean_accuracy=accuracy)  # report metrics


def _expected_accuracies(config: dict[str, Any], stop: float = 99) -> list[float]:
    """What ``train_func`` reports up to and including its first result at or above ``stop``."""
    accuracy, out = 0.0, []
    while not out or out[-1] < stop:
        accuracy += config["lr"] * 100 * (1 + config["momentum"])
        out.append(accuracy)
    return out


def _trials_on_disk(experiment_dir: Path) -> dict[str, dict[str, Any]]:
    """``{trial directory name: {"status", "config", "results"}}`` read back from the experiment's files
    (the statuses through ``ExperimentAnalysis``: it waits for the run's last state to be written)."""
    statuses = tune.ExperimentAnalysis(experiment_dir).trial_statuses
    trials = {}
    for logdir in sorted(p.parent for p in experiment_dir.glob("*/result.json")):
        results = [json.loads(line) for line in (logdir / "result.json").read_text().splitlines()]
        config = json.loads((logdir / "params.json").read_text())
        trials[logdir.name] = {"status": statuses[results[0]["trial_id"]], "config": config, "results": results}
    return trials


def _check_quick_start(experiment_dir: Path) -> set[int]:
    """Every quick-start trial ran to its stop criterion, reporting the seed trainable's values; the pids."""
    trials = _trials_on_disk(experiment_dir)
    assert sorted(trials) == QUICK_START_NAMES
    pids = set()
    for name, trial in trials.items():
        assert trial["status"] == "TERMINATED", name
        expected = _expected_accuracies(trial["config"])
        assert [r["mean_accuracy"] for r in trial["results"]] == pytest.approx(expected), name
        assert [r["timesteps_total"] for r in trial["results"]] == list(range(len(expected))), name
        pids |= {r["pid"] for r in trial["results"]}
    return pids


def _run_script(tmp_path: Path, code: str, timeout: float = 90) -> dict[str, Any]:
    """Run ``code`` as a user's script; return the JSON it printed after ``RESULT``."""
    script = tmp_path / "experiment.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=tmp_path,
                            # "local": the script's ``ray.init()`` starts a Ray of its own even while a
                            # cluster someone else started on this machine is up (ray.init would join it).
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": "local"})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # The script's own group: its Ray goes with it.
        out, err = proc.communicate()
        pytest.fail(f"the script ran over {timeout} s:\n{out}\n{err[-4000:]}")
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"rc={proc.returncode}\n{out}\n{err[-4000:]}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return result


def _ray_worker_pids(session_dir: str) -> set[int]:
    """The pids of every worker process of a Ray session: Ray names each worker's log after its pid."""
    logs = Path(session_dir, "logs")
    return {int(p.stem.rsplit("-", 1)[1]) for p in logs.glob("worker-*.out")}


# --- the quick start -------------------------------------------------------------------------------

@pytest.mark.usefixtures("ray_session")
def test_quick_start_on_ray(local_dir: Path) -> None:
    tune.register_trainable("train_func", train_func)
    trials = tune.run_experiments({
        "my_experiment": {
            "run": "train_func",
            "stop": {"mean_accuracy": 99},
            "config": {
                "lr": tune.grid_search([0.2, 0.4, 0.6]),
                "momentum": tune.grid_search([0.1, 0.2]),
            },
            "local_dir": str(local_dir),
        }
    }, executor="ray", verbose=0)
    assert [t.name for t in trials] == QUICK_START_NAMES
    assert all(t.status == "TERMINATED" for t in trials)
    pids = _check_quick_start(local_dir / "my_experiment")
    assert os.getpid() not in pids, "the trials ran in the driver"


@pytest.mark.usefixtures("ray_session")
def test_lambda_sampling_resolves_in_the_driver_and_reaches_the_actors(local_dir: Path) -> None:
    """The seed's conditional variants: a ``lambda spec:`` value computed from the grid's choice."""
    trials = run_experiments({
        "conditional": {
            "run": train_func,
            "stop": {"mean_accuracy": 99},
            "config": {"lr": tune.grid_search([0.2, 0.6]), "momentum": lambda spec: spec.config.lr / 2},
            "local_dir": str(local_dir),
        }
    }, executor="ray", verbose=0)
    assert sorted((t.config["lr"], t.config["momentum"]) for t in trials) == [(0.2, 0.1), (0.6, 0.3)]
    for name, trial in _trials_on_disk(local_dir / "conditional").items():
        assert trial["status"] == "TERMINATED", name
        assert [r["mean_accuracy"] for r in trial["results"]] == pytest.approx(
            _expected_accuracies(trial["config"])), name


_SEED_SCRIPT = """
    import json, os
    import ray
    import tune_core as tune

    context = ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20)

    def train_func(config, reporter):  # add a reporter argument
        accuracy = 0.0
        for idx in range(1000):
            accuracy += config["lr"] * 100 * (1 + config["momentum"])
            reporter(timesteps_total=idx, mean_accuracy=accuracy)  # report metrics

    tune.register_trainable("train_func", train_func)
    trials = tune.run_experiments({{
        "my_experiment": {{
            "run": "train_func",
            "stop": {{"mean_accuracy": 99}},
            "config": {{
                "lr": tune.grid_search([0.2, 0.4, 0.6]),
                "momentum": tune.grid_search([0.1, 0.2]),
            }},
            "local_dir": {local_dir!r},
        }}
    }}, verbose=0{executor})
    print("RESULT", json.dumps({{"driver": os.getpid(), "session_dir": context.address_info["session_dir"],
                                "still_up": ray.is_initialized(), "statuses": [t.status for t in trials]}}))
    ray.shutdown()
"""


@pytest.mark.parametrize("executor", ['"ray"', None], ids=["executor-named", "executor-not-named"])
def test_quick_start_after_the_users_own_ray_init_runs_in_ray(tmp_path: Path, executor: str | None) -> None:
    """The seed's script: ``ray.init()`` first, then ``run_experiments``. Named or not, the trials must
    run in the workers of the user's Ray (their pids are those of its workers), which stays up."""
    local_dir = tmp_path / "results"
    out = _run_script(tmp_path, _SEED_SCRIPT.format(
        local_dir=str(local_dir), executor="" if executor is None else f", executor={executor}"))
    assert out["statuses"] == ["TERMINATED"] * 6
    assert out["still_up"], "the executor shut down the user's own Ray"
    pids = _check_quick_start(local_dir / "my_experiment")
    assert out["driver"] not in pids, "the trials ran in the driver"
    workers = _ray_worker_pids(out["session_dir"])
    assert workers, f"no Ray worker logs under {out['session_dir']}"
    assert pids <= workers, (
        f"trials ran in processes {sorted(pids - workers)} that are not workers of the user's Ray "
        f"(its workers: {sorted(workers)}): run_experiments did not pick the 'ray' executor")


# --- large objects shared with every trial ---------------------------------------------------------

@pytest.mark.usefixtures("ray_session")
def test_pinned_object_on_ray(local_dir: Path) -> None:
    # X_id can be referenced in a closure
    X_id = pin_in_object_store(np.random.random(size=100_000))

    def f(config: dict[str, Any], reporter: Any) -> None:
        X = get_pinned_object(X_id)
        reporter(mean=float(X.mean()), n=len(X), pid=os.getpid())  # use X

    register_trainable("f", f)
    trials = run_experiments({"pinned": {"run": "f", "num_samples": 3, "local_dir": str(local_dir)}},
                             executor="ray", verbose=0)
    expected = float(get_pinned_object(X_id).mean())
    assert [t.status for t in trials] == ["TERMINATED"] * 3
    for trial in _trials_on_disk(local_dir / "pinned").values():
        assert trial["status"] == "TERMINATED"
        (result,) = trial["results"]
        assert result["n"] == 100_000 and result["mean"] == expected
        assert result["pid"] != os.getpid()


_ZERO_COPY_SCRIPT = """
    import json, os
    import numpy as np
    import ray
    import tune_core
    from tune_core.util import get_pinned_object, pin_in_object_store

    N = {n}
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=2 * N * 8 + 2**28)
    X_id = pin_in_object_store(np.arange(N, dtype=np.float64))

    def private_bytes():
        # USS: the pages of this process no other process maps.
        fields = dict(line.split(":", 1) for line in open("/proc/self/smaps_rollup").read().splitlines()[1:])
        return sum(int(fields[key].split()[0]) * 1024 for key in ("Private_Clean", "Private_Dirty"))

    def f(config, reporter):
        before = private_bytes()
        X = get_pinned_object(X_id)
        total = float(X.sum())  # reads every element
        grew = private_bytes() - before
        reporter(total=total, grew=grew, nbytes=X.nbytes, writeable=bool(X.flags.writeable),
                 owndata=bool(X.flags.owndata), pid=os.getpid())

    trials = tune_core.run_experiments({{"zero_copy": {{"run": f, "num_samples": 4, "local_dir": {local_dir!r}}}}},
                                       executor="ray", verbose=0)
    print("RESULT", json.dumps({{"driver": os.getpid(), "statuses": [t.status for t in trials]}}))
    ray.shutdown()
"""


def test_a_large_pinned_array_is_read_by_every_trial_without_a_copy(tmp_path: Path) -> None:
    """300 MB of float64 pinned once; 4 trials on 2 CPUs each read it all from Ray's shared memory."""
    n = 300 * 2**20 // 8
    local_dir = tmp_path / "results"
    out = _run_script(tmp_path, _ZERO_COPY_SCRIPT.format(n=n, local_dir=str(local_dir)))
    assert out["statuses"] == ["TERMINATED"] * 4
    results = [trial["results"][0] for trial in _trials_on_disk(local_dir / "zero_copy").values()]
    assert len(results) == 4
    for result in results:
        assert result["pid"] != out["driver"]
        assert result["nbytes"] == n * 8
        assert result["total"] == n * (n - 1) / 2, "the trial read a wrong sum"
        assert not result["writeable"] and not result["owndata"], (
            f"the trial got its own array, not a read-only view of Ray's shared memory: {result}")
        assert result["grew"] < n * 8 / 10, (
            f"reading the pinned array grew the trial's private memory by {result['grew'] / 2**20:.0f} MiB "
            f"(the array is {n * 8 / 2**20:.0f} MiB): it was copied into the trial's process")
