"""The runner and the local executor end to end: real worker processes, real files read back."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
import trainables as T
from runs import CPUS2
from runs import result_lines as _lines
from runs import run_exp as _run

import tune_core as tune
from tune_core.interfaces import CONTINUE, STOP, DecisionPoint, TrialScheduler
from tune_core.schedulers.fifo import first_fitting


def test_seed_quick_start_runs_grid_with_names_and_files(local_dir: Path) -> None:
    tune.register_trainable("train_func", T.counting)
    trials = _run(local_dir, {
        "run": "train_func",
        "stop": {"score": 99},
        "config": {"iters": 4, "step": tune.grid_search([1, 2, 3]), "momentum": tune.grid_search([0.1, 0.2])},
    })
    assert [t.name for t in trials][:2] == ["train_func_0_momentum=0.1,step=1", "train_func_1_momentum=0.2,step=1"]
    assert {t.status for t in trials} == {"TERMINATED"}
    for trial in trials:
        lines = _lines(trial)
        assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4]
        assert lines[-1]["done"] is True
        assert lines[0]["config"] == trial.config
        for field in ("time_this_iter_s", "time_total_s", "timesteps_total", "timestamp", "date", "pid",
                      "hostname", "node_ip", "trial_id", "experiment_id"):
            assert field in lines[0], field
        assert json.loads(Path(trial.logdir, "params.json").read_text()) == trial.config
        assert Path(trial.logdir, "progress.csv").read_text().count("\n") == 5
        assert Path(trial.logdir).parent == local_dir / "exp"


def test_stop_dict_stops_exactly_at_threshold(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.counting, "stop": {"training_iteration": 3}, "config": {"iters": 100}})
    assert [r["training_iteration"] for r in _lines(trials[0])] == [1, 2, 3]
    assert trials[0].last_result["done"] is True


def test_stop_callable(local_dir: Path) -> None:
    trials = _run(local_dir, {
        "run": T.counting, "config": {"iters": 100},
        "stop": lambda trial_id, result: result["score"] >= 4,
    })
    assert [r["score"] for r in _lines(trials[0])] == [0, 1, 2, 3, 4]
    assert trials[0].status == "TERMINATED"


def test_class_trainable_done_ends_trial(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.Counter, "config": {"until": tune.grid_search([2, 4])}})
    assert [t.last_result["value"] for t in trials] == [2, 4]
    assert [len(_lines(t)) for t in trials] == [2, 4]


def test_exception_marks_error_keeps_traceback_and_others_go_on(local_dir: Path) -> None:
    with pytest.raises(tune.TuneError, match="Trials did not complete"):
        _run(local_dir, {"run": T.raises_at, "config": {"fail_at": tune.grid_search([2, 99])}})
    trials = _run(local_dir / "again", {"run": T.raises_at, "config": {"fail_at": tune.grid_search([2, 99])}},
                  raise_on_failed_trial=False)
    failed, ok = trials
    assert failed.status == "ERROR" and ok.status == "TERMINATED"
    assert "ValueError: boom at 2" in Path(failed.error_file).read_text()
    assert Path(failed.error_file).name == "error_1.txt"
    assert failed.num_failures == 1
    assert len(_lines(failed)) == 2 and len(_lines(ok)) == 10


@pytest.mark.parametrize(("how", "signal_name"), [("kill", "SIGKILL"), ("segv", "SIGSEGV")])
def test_worker_death_is_an_error_with_reason(local_dir: Path, how: str, signal_name: str) -> None:
    trials = _run(local_dir, {"run": T.kills_itself, "config": {"how": how}},
                  raise_on_failed_trial=False)
    trials += _run(local_dir / "b", {"run": T.counting}, raise_on_failed_trial=False)
    assert trials[0].status == "ERROR"
    assert signal_name in Path(trials[0].error_file).read_text()
    assert trials[1].status == "TERMINATED"


def test_worker_death_does_not_stop_other_trials(local_dir: Path) -> None:
    tune.register_trainable("dies", T.kills_itself)
    tune.register_trainable("count", T.counting)
    trials = tune.run_experiments(
        {"a": {"run": "dies", "local_dir": str(local_dir)},
         "b": {"run": "count", "num_samples": 4, "local_dir": str(local_dir), "config": {"iters": 20}}},
        verbose=0, raise_on_failed_trial=False, executor_config=CPUS2)
    assert [t.status for t in trials] == ["ERROR"] + ["TERMINATED"] * 4


def test_output_is_captured_per_trial(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.prints, "config": {"who": tune.grid_search(["a", "b"])}})
    for trial, who in zip(trials, "ab", strict=True):
        out = Path(trial.logdir, "stdout").read_text()
        assert f"hello from {who}" in out and "from a subprocess" in out
        assert "to stderr" in Path(trial.logdir, "stderr").read_text()


def test_output_goes_to_its_own_trial_when_one_worker_runs_them_all(local_dir: Path) -> None:
    def sometimes_prints(config: dict[str, Any], reporter: Any) -> None:
        if config["i"] % 3 == 1:
            print("output of", config["i"])
        reporter(score=config["i"])

    trials = _run(local_dir, {"run": sometimes_prints, "config": {"i": tune.grid_search(list(range(9)))}},
                  executor_config={"num_cpus": 1})
    assert len({t.last_result["pid"] for t in trials}) == 1
    for trial in trials:
        i = trial.config["i"]
        stdout = Path(trial.logdir, "stdout")
        if i % 3 == 1:
            assert stdout.read_text() == f"output of {i}\n"
        else:
            assert not stdout.exists(), f"silent trial {i} got a stdout file"
    assert not list((local_dir / "exp").glob(".tune_worker_*")), "spare output files left behind"


def test_a_long_silent_trial_gets_no_output_file(local_dir: Path) -> None:
    # Past PLACE_AFTER_S a trial's output is placed in its directory to be followed live, but only a
    # stream it wrote to: on a loaded machine even a short first trial can run that long.
    from tune_core.executors.local.output import PLACE_AFTER_S

    def quiet_then_loud(config: dict[str, Any], reporter: Any) -> None:
        time.sleep(PLACE_AFTER_S + 0.6)
        if config["loud"]:
            print("late words")
            time.sleep(1.2)  # Placed by the background tick while it still runs.
        reporter(score=1)

    trials = _run(local_dir, {"run": quiet_then_loud, "config": {"loud": tune.grid_search([False, True])}},
                  executor_config={"num_cpus": 2})
    quiet, loud = trials
    assert not Path(quiet.logdir, "stdout").exists() and not Path(quiet.logdir, "stderr").exists()
    assert Path(loud.logdir, "stdout").read_text() == "late words\n"
    assert not Path(loud.logdir, "stderr").exists()


def test_restarted_trial_appends_to_its_output(local_dir: Path, tmp_path: Path) -> None:
    def fails_once(config: dict[str, Any], reporter: Any) -> None:
        marker = Path(config["marker"])
        attempt = 2 if marker.exists() else 1
        marker.touch()
        print("attempt", attempt, flush=True)
        if attempt == 1:
            raise RuntimeError("first attempt fails")
        reporter(score=1)

    (trial,) = _run(local_dir, {"run": fails_once, "config": {"marker": str(tmp_path / "m")}, "max_failures": 1})
    assert trial.status == "TERMINATED"
    out = Path(trial.logdir, "stdout").read_text()
    assert "attempt 1" in out and "attempt 2" in out


def test_workers_are_reused_across_trials(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "config": {"sleep": 0.01}, "num_samples": 8})
    pids = {t.last_result["pid"] for t in trials}
    assert len(pids) <= 2


def test_trial_needing_more_cpus_than_machine_fails_fast(local_dir: Path) -> None:
    start = time.monotonic()
    with pytest.raises(tune.TuneError, match=r"needs 4 CPUs but the executor has 2"):
        _run(local_dir, {"run": T.counting, "resources": {"cpu": 4}})
    assert time.monotonic() - start < 10


def test_gpu_trials_on_one_gpu_run_one_after_the_other(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "num_samples": 2, "resources": {"cpu": 1, "gpu": 1}},
                  executor_config={"num_cpus": 4, "num_gpus": 1})
    (a, b) = sorted((t.last_result for t in trials), key=lambda r: r["start"])
    assert a["end"] <= b["start"], "two 1-GPU trials overlapped on a 1-GPU machine"
    assert a["cuda"] == b["cuda"] == "0"


def test_fractional_gpus_share_one_device(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "num_samples": 2, "config": {"sleep": 1.0},
                              "resources": {"cpu": 1, "gpu": 0.5}},
                  executor_config={"num_cpus": 4, "num_gpus": 1})
    (a, b) = sorted((t.last_result for t in trials), key=lambda r: r["start"])
    assert b["start"] < a["end"], "two half-GPU trials should share the GPU"
    assert a["cuda"] == b["cuda"] == "0"


def test_cpu_trials_see_no_gpu(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "config": {"sleep": 0.0}},
                  executor_config={"num_cpus": 2, "num_gpus": 1})
    assert trials[0].last_result["cuda"] == ""


class StopAtThree(TrialScheduler):
    """Holds each trial at iteration 3 and stops it there."""

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return STOP if result["training_iteration"] >= 3 else CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return first_fitting(runner, "PENDING")

    def decision_point(self, trial: Any) -> DecisionPoint:
        return DecisionPoint("training_iteration", 3)


def test_trial_never_runs_past_a_decision_point(local_dir: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    trials = _run(local_dir, {"run": T.marks_iterations,
                              "config": {"marks": str(marks), "tag": tune.grid_search(["a", "b", "c"])}},
                  scheduler=StopAtThree())
    assert [len(_lines(t)) for t in trials] == [3, 3, 3]
    reached = marks.read_text().split("\n")
    for tag in "abc":
        assert max(int(line.split()[1]) for line in reached if line.startswith(tag)) == 3


def test_pinned_object_is_loaded_once_per_worker(local_dir: Path) -> None:
    import numpy as np  # A dependency of pandas, so always there.
    handle = tune.pin_in_object_store(np.arange(1_000_000, dtype=np.float64))

    def uses_pinned(config: dict[str, Any], reporter: Any) -> None:
        import os

        X = tune.get_pinned_object(handle)
        reporter(total=float(X.sum()), obj=id(X), pid=os.getpid(), writeable=bool(X.flags.writeable))

    trials = _run(local_dir, {"run": uses_pinned, "num_samples": 6})
    results = [t.last_result for t in trials]
    assert {r["total"] for r in results} == {float(np.arange(1_000_000).sum())}
    by_pid: dict[int, set[int]] = {}
    for r in results:
        by_pid.setdefault(r["pid"], set()).add(r["obj"])
    assert all(len(ids) == 1 for ids in by_pid.values()), "pinned object was loaded more than once in a worker"
    assert not any(r["writeable"] for r in results), "the array should map the shared pages read-only"


def test_non_json_metric_is_stringified(local_dir: Path) -> None:
    def odd(config: dict[str, Any], reporter: Any) -> None:
        reporter(obj=object(), nan=float("nan"), inf=float("inf"))

    trials = _run(local_dir, {"run": odd})
    line = _lines(trials[0])[0]
    assert line["nan"] is None and line["inf"] is None
    assert "object" in line["obj"]


def test_run_returns_analysis_with_best_config(local_dir: Path) -> None:
    analysis = tune.run(T.counting, config={"iters": 3, "step": tune.grid_search([1, 5, 2])},
                        metric="score", mode="max", local_dir=str(local_dir), verbose=0,
                        executor_config=CPUS2)
    assert analysis.best_config["step"] == 5
    assert analysis.get_best_config(metric="score", mode="min")["step"] in (1, 5, 2)
    assert len(analysis.dataframe()) == 3


def test_function_with_config_only_reports_through_tune_report(local_dir: Path) -> None:
    def modern(config: dict[str, Any]) -> None:
        for i in range(3):
            tune.report(loss=1.0 / (i + 1))

    trials = _run(local_dir, {"run": modern})
    assert [r["loss"] for r in _lines(trials[0])] == [1.0, 0.5, pytest.approx(1 / 3)]


def test_long_trial_output_is_in_its_directory_while_it_runs(local_dir: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"

    def chatty(config: dict[str, Any], reporter: Any) -> None:
        import time

        print("started", flush=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            matches = [p for p in Path(config["root"]).glob("*/stdout")]
            if matches and "started" in matches[0].read_text():
                Path(config["seen"]).write_text("live")
                break
            time.sleep(0.1)
        reporter(done=True)

    trials = _run(local_dir, {"run": chatty, "config": {"root": str(local_dir / "exp"), "seen": str(seen)}})
    assert seen.read_text() == "live"
    assert "started" in Path(trials[0].logdir, "stdout").read_text()
    assert not Path(trials[0].logdir, "stderr").exists()  # Never written to: no file.
    assert not list((local_dir / "exp").glob(".tune_worker_*")), "spare output files left behind"


def _overlapped(results: list[dict[str, Any]]) -> bool:
    spans = sorted((r["start"], r["end"]) for r in results)
    return any(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_extra_cpu_is_reserved(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "num_samples": 2, "resources": {"cpu": 1, "extra_cpu": 1}})
    assert not _overlapped([t.last_result for t in trials]), "1 CPU + 1 extra CPU each: one at a time on 2 CPUs"


def test_custom_resources_limit_concurrency(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "num_samples": 3, "resources": {"cpu": 1, "custom": {"licence": 1}}},
                  executor_config={"num_cpus": 4, "custom_resources": {"licence": 1}})
    assert not _overlapped([t.last_result for t in trials])
    with pytest.raises(tune.TuneError, match=r"needs 2 'licence' but the executor has 1"):
        _run(local_dir / "b", {"run": T.sleeps, "resources": {"cpu": 1, "licence": 2}},
             executor_config={"num_cpus": 4, "custom_resources": {"licence": 1}})


def test_trials_run_two_at_a_time_on_two_cpus(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": T.sleeps, "num_samples": 4, "config": {"sleep": 0.5}})
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in trials)
    at_once = max(sum(1 for s, e in spans if s <= point < e) for point, _ in spans)
    assert at_once == 2


FORK_DRIVER = """
import json, sys
sys.path[:0] = {paths!r}
import numpy as np  # One BLAS thread (set by the test), so the driver stays single-threaded.
import tune_core as tune
np.random.seed(0)  # The driver's own numpy state, which forked workers must not share.
from tune_core.executors.local.executor import can_fork

def draws(config, reporter):
    import os, random, time
    time.sleep(0.3)  # Both trials run at once, one per worker.
    print("hello from", os.getpid())
    reporter(draw=random.random(), np_draw=float(np.random.rand()), pid=os.getpid())

forkable = can_fork()
trials = tune.run_experiments({{"f": {{"run": draws, "num_samples": 2, "local_dir": {local!r}}}}},
                              verbose=0, executor_config={{"num_cpus": 2}})
print(json.dumps({{"forkable": forkable, "results": [t.last_result for t in trials],
                  "logdirs": [str(t.logdir) for t in trials]}}))
"""


@pytest.mark.parametrize("start", ["auto", "spawn"])
def test_workers_forked_or_spawned(tmp_path: Path, start: str) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "driver.py"
    script.write_text(FORK_DRIVER.format(paths=[str(root / "tests"), str(root)], local=str(tmp_path / "r")))
    env = dict(os.environ, TUNE_WORKER_START=start, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["forkable"] is (start == "auto"), "a plain single-threaded driver forks its workers"
    a, b = report["results"]
    assert a["pid"] != b["pid"]
    assert a["draw"] != b["draw"], "forked workers share the parent's random state"
    assert a["np_draw"] != b["np_draw"], "forked workers share numpy's random state"
    for logdir in report["logdirs"]:
        assert "hello from" in Path(logdir, "stdout").read_text()
