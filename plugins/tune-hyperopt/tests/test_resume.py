"""A driver killed with SIGKILL halfway through, then resumed: the searcher carries on with the
model it had (hyperopt's Trials with every earlier result), and the run ends with its 40 trials."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
TOTAL = 40

DRIVER = """
import json, sys
sys.path[:0] = [{here!r}]
import tune_core as tune
from hyperopt_trainables import marked
from tune_hyperopt import HyperOptSearch

searcher = HyperOptSearch(n_initial_points=8, random_state_seed=0)
config = {{"x": tune.uniform(-5, 5), "y": tune.uniform(-5, 5), "sleep": 0.1, "marks": {marks!r}}}
trials = tune.run_experiments(
    {{"resumed": {{"run": marked, "num_samples": {total}, "config": config, "local_dir": {local!r}}}}},
    search_alg=searcher, metric="loss", mode="min", verbose=0, resume=len(sys.argv) > 1,
    executor_config={{"num_cpus": 2}})
docs = searcher.trials.trials
print("RESULT " + json.dumps({{
    "statuses": sorted({{t.status for t in trials}}), "configs": [[t.config["x"], t.config["y"]] for t in trials],
    "tids": [d["tid"] for d in docs], "doc_statuses": sorted({{d["result"]["status"] for d in docs}})}}))
"""


def test_a_killed_driver_resumes_with_the_same_model(tmp_path: Path) -> None:
    marks, local = tmp_path / "marks", tmp_path / "results"
    marks.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(here=str(HERE), marks=str(marks), total=TOTAL, local=str(local)))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < TOTAL // 2 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.01)
    children = psutil.Process(driver.pid).children(recursive=True)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    psutil.wait_procs(children, timeout=5)
    started = len(list(marks.iterdir()))
    assert driver.returncode == -signal.SIGKILL and TOTAL // 2 <= started < TOTAL - 5, started

    final = subprocess.run([sys.executable, str(script), "resume"], capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    result = json.loads(final.stdout.split("RESULT ", 1)[1])
    assert result["statuses"] == ["TERMINATED"] and len(result["configs"]) == TOTAL
    assert len({tuple(c) for c in result["configs"]}) == TOTAL, "no config was proposed twice"
    # The resumed searcher holds every trial since the start, each with its result: its ids go on
    # from where the first driver stopped (a searcher started afresh would number from 0 again and
    # know only the second half).
    assert result["tids"] == list(range(TOTAL))
    assert result["doc_statuses"] == ["ok"]
