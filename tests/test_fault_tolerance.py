"""Checkpoints, failures, pause/resume and experiment resume: real processes killed for real."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import tune_core as tune
from tune_core.interfaces import CONTINUE, PAUSE, DecisionPoint, TrialScheduler
from tune_core.schedulers.fifo import first_fitting

ROOT = Path(__file__).resolve().parent.parent

CHAOS_DRIVER = """
import sys
sys.path[:0] = {paths!r}
import tune_core as tune
from trainables import SlowCounter

tune.register_trainable("slow", SlowCounter)
trials = tune.run_experiments(
    {{"chaos": {{"run": "slow", "num_samples": 8, "stop": {{"training_iteration": 60}},
                 "checkpoint_freq": 5, "local_dir": {local!r}}}}},
    verbose=0, resume=len(sys.argv) > 1, executor_config={{"num_cpus": 2}})
print("DONE", sorted({{t.status for t in trials}}), [t.last_result["x"] for t in trials])
"""


def _iterations(trial_dir: Path) -> tuple[list[int], list[int]]:
    lines = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]
    with open(trial_dir / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["training_iteration"] for r in lines], [int(r["training_iteration"]) for r in rows]


@pytest.mark.slow
def test_chaos_driver_killed_three_times(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    local = tmp_path / "results"
    script.write_text(CHAOS_DRIVER.format(paths=[str(ROOT / "tests"), str(ROOT)], local=str(local)))
    rng = random.Random(7)
    for attempt in range(3):
        args = [sys.executable, str(script)] + (["resume"] if attempt else [])
        driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.8, 2.5))
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        psutil.wait_procs(children, timeout=5)
    final = subprocess.run([sys.executable, str(script), "resume"], capture_output=True, text=True, timeout=180)
    assert final.returncode == 0, final.stderr
    assert "DONE ['TERMINATED'] [60, 60, 60, 60, 60, 60, 60, 60]" in final.stdout
    trial_dirs = sorted(p for p in (local / "chaos").iterdir() if p.is_dir())
    assert len(trial_dirs) == 8
    for trial_dir in trial_dirs:
        from_json, from_csv = _iterations(trial_dir)
        assert from_json == list(range(1, 61)), trial_dir.name
        assert from_csv == list(range(1, 61)), trial_dir.name
        assert json.loads((trial_dir / "params.json").read_text()) == {}
    state = json.loads((local / "chaos" / "experiment_state.json").read_text())
    assert [t["status"] for t in state["trials"]] == ["TERMINATED"] * 8


class Flaky(tune.Trainable):
    """Fails on its 2nd train() unless restored (the seed's failure case)."""

    def _setup(self, config: dict[str, Any]) -> None:
        self.restored = False
        self.steps = 0

    def _train(self) -> dict[str, Any]:
        self.steps += 1
        if self.config.get("always_fail") or (self.steps == 2 and not self.restored):
            raise RuntimeError("flaky failure")
        return {"steps": self.steps, "done": self.steps >= self.config.get("until", 4)}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"steps": self.steps}

    def _restore(self, checkpoint: Any) -> None:
        self.steps = checkpoint["steps"]
        self.restored = True


def _run(local_dir: Path, spec: dict[str, Any], **kwargs: Any) -> list[Any]:
    kwargs.setdefault("executor_config", {"num_cpus": 1})
    return tune.run_experiments({"ft": {"local_dir": str(local_dir), **spec}}, verbose=0,
                                raise_on_failed_trial=False, **kwargs)


def test_seed_failure_without_retries_ends_in_error(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": Flaky, "checkpoint_freq": 1, "max_failures": 0})
    assert trial.status == "ERROR" and trial.num_failures == 1
    assert "flaky failure" in Path(trial.error_file).read_text()


def test_seed_failure_recovers_from_its_checkpoint(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": Flaky, "checkpoint_freq": 1, "max_failures": 1})
    assert trial.status == "TERMINATED" and trial.num_failures == 1
    lines = [json.loads(x) for x in Path(trial.logdir, "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4], "each iteration logged once"
    assert Path(trial.logdir, "error_1.txt").exists()


def test_always_failing_trial_gives_up_after_max_failures(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": Flaky, "checkpoint_freq": 1, "max_failures": 2,
                                "config": {"always_fail": True}})
    assert trial.status == "ERROR" and trial.num_failures == 3
    assert sorted(p.name for p in Path(trial.logdir).glob("error_*.txt")) == [
        "error_1.txt", "error_2.txt", "error_3.txt"]


def test_restore_trains_exactly_one_more_iteration(local_dir: Path) -> None:
    (first,) = _run(local_dir, {"run": Flaky, "checkpoint_at_end": True, "stop": {"training_iteration": 1}})
    checkpoint = Path(first.logdir, "checkpoint_000001")
    assert checkpoint.is_dir()
    (second,) = _run(local_dir / "again", {"run": Flaky, "restore": str(checkpoint),
                                           "stop": {"training_iteration": 2}})
    lines = [json.loads(x) for x in Path(second.logdir, "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in lines] == [2]
    assert second.last_result["steps"] == 2


class PauseAtThree(TrialScheduler):
    """Pauses each trial once, at iteration 3, and lets it run again later."""

    def __init__(self) -> None:
        self.paused: set[str] = set()

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        if result["training_iteration"] == 3 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return PAUSE
        return CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return first_fitting(runner, "PENDING") or first_fitting(runner, "PAUSED")

    def decision_point(self, trial: Any) -> DecisionPoint | None:
        return None if trial.trial_id in self.paused else DecisionPoint("training_iteration", 3)


class Stateful(tune.Trainable):
    def _setup(self, config: dict[str, Any]) -> None:
        self.value = 0
        self.pid_log: list[int] = []

    def _train(self) -> dict[str, Any]:
        self.value += 10
        self.pid_log.append(os.getpid())
        return {"value": self.value, "pids": len(set(self.pid_log)), "done": self.value >= 60}

    def _save(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value, "pid_log": self.pid_log}

    def _restore(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]
        self.pid_log = checkpoint["pid_log"]


def test_pause_checkpoints_and_resume_keeps_state(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": Stateful, "num_samples": 3}, scheduler=PauseAtThree(),
                  executor_config={"num_cpus": 2})
    for trial in trials:
        assert trial.status == "TERMINATED"
        lines = [json.loads(x) for x in Path(trial.logdir, "result.json").read_text().splitlines()]
        assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
        assert [r["value"] for r in lines] == [10, 20, 30, 40, 50, 60], "state lost across the pause"
        assert Path(trial.logdir, "checkpoint_000003").is_dir()


def test_worker_chaos_with_max_failures(local_dir: Path) -> None:
    """Random workers are SIGKILLed while trials run; every trial still completes."""
    import threading

    class Steady(tune.Trainable):
        def _setup(self, config: dict[str, Any]) -> None:
            self.x = 0

        def _train(self) -> dict[str, Any]:
            time.sleep(0.05)
            self.x += 1
            return {"x": self.x, "done": self.x >= 30}

        def _save(self, checkpoint_dir: str) -> dict[str, Any]:
            return {"x": self.x}

        def _restore(self, checkpoint: Any) -> None:
            self.x = checkpoint["x"]

    from tune_core.executors.local.executor import LocalExecutor

    executor = LocalExecutor(num_cpus=2)
    kills: list[int] = []

    def chaos() -> None:
        rng = random.Random(3)
        time.sleep(0.5)
        while len(kills) < 3:
            busy = list(executor.busy_worker_pids().values())  # only workers running a trial
            if busy:
                victim = rng.choice(busy)
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills.append(victim)
                except ProcessLookupError:
                    pass
            time.sleep(rng.uniform(0.4, 0.7))

    killer = threading.Thread(target=chaos, daemon=True)
    killer.start()
    trials = tune.run_experiments(
        {"ft": {"run": Steady, "num_samples": 4, "checkpoint_freq": 2, "max_failures": 3,
                "local_dir": str(local_dir)}}, executor=executor, verbose=0, raise_on_failed_trial=False)
    killer.join(timeout=10)
    assert len(kills) == 3
    assert [t.status for t in trials] == ["TERMINATED"] * 4
    assert sum(t.num_failures for t in trials) == len(kills)
    for trial in trials:
        lines = [json.loads(x) for x in Path(trial.logdir, "result.json").read_text().splitlines()]
        assert [r["training_iteration"] for r in lines] == list(range(1, 31))


def test_resume_of_a_finished_run_keeps_it_done(local_dir: Path) -> None:
    first = _run(local_dir, {"run": Flaky, "num_samples": 2, "config": {"until": 2}, "checkpoint_freq": 1,
                             "max_failures": 1})
    again = _run(local_dir, {"run": Flaky, "num_samples": 2, "config": {"until": 2}, "checkpoint_freq": 1,
                             "max_failures": 1}, resume=True)
    assert [t.trial_id for t in again] == [t.trial_id for t in first]
    assert [t.status for t in again] == ["TERMINATED", "TERMINATED"]


def test_run_resumes_too(local_dir: Path) -> None:
    # tune.run takes resume= as run_experiments does: a searcher's run that stopped half way goes on.
    from tune_core.search import BasicVariantGenerator

    def counted(config: dict[str, Any], reporter: Any) -> None:
        with open(config["log"], "a") as f:
            f.write(f"{config['x']}\n")
        reporter(loss=config["x"])

    log = local_dir / "calls.txt"
    kwargs = {"config": {"x": tune.uniform(0, 1), "log": str(log)}, "num_samples": 4, "local_dir": str(local_dir),
              "name": "again", "verbose": 0, "metric": "loss", "mode": "min"}
    first = tune.run(counted, search_alg=BasicVariantGenerator(seed=3), **kwargs)
    again = tune.run(counted, search_alg=BasicVariantGenerator(seed=3), resume=True, **kwargs)
    assert again.trial_ids == first.trial_ids and len(log.read_text().splitlines()) == 4  # nothing ran twice


def test_resume_without_state_starts_fresh(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": Flaky, "config": {"until": 1}}, resume=True)
    assert [t.status for t in trials] == ["TERMINATED"]


def test_bad_restore_and_resume_inputs(local_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(tune.TuneError, match=r"no checkpoint at .*missing"):
        _run(local_dir, {"run": Flaky, "restore": str(tmp_path / "missing")})
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / ".tune_metadata").write_bytes(b"not a pickle")
    with pytest.raises(tune.TuneError, match=r"corrupt checkpoint at .*corrupt"):
        _run(local_dir, {"run": Flaky, "restore": str(corrupt)})
    from tune_core.cli.resume import resume_experiments

    with pytest.raises(tune.TuneError, match=r"cannot resume .*nowhere: no such experiment directory"):
        resume_experiments([str(tmp_path / "nowhere")])
    exp_dir = local_dir / "ft"
    exp_dir.mkdir(parents=True)
    (exp_dir / "experiment_state.json").write_text("{ half a state")
    with pytest.raises(tune.TuneError, match=r"corrupt experiment state .*experiment_state.json"):
        _run(local_dir, {"run": Flaky}, resume=True)
    assert (exp_dir / "experiment_state.json").read_text() == "{ half a state", "the bad state was overwritten"
    (exp_dir / "experiment_state.json").write_text(json.dumps({"version": 999, "trials": []}))
    with pytest.raises(tune.TuneError, match=r"incompatible version"):
        _run(local_dir, {"run": Flaky}, resume=True)


SIGINT_DRIVER = """
import os
import sys
import time
sys.path[:0] = {paths!r}
import tune_core as tune
from trainables import SlowCounter

MARKS, HOLD = {marks!r}, {hold!r}


class Marking(SlowCounter):
    \"\"\"Leaves a file per worker as it trains, and waits inside ``_train`` while HOLD exists: the
    test signals the driver while trials provably run.\"\"\"

    def _train(self):
        mark = os.path.join(MARKS, str(os.getpid()))
        with open(mark, "a") as f:
            f.write("x")
        while os.path.exists(HOLD):
            open(mark + ".held", "w").close()
            time.sleep(0.01)
        return super()._train()


tune.register_trainable("slow", Marking)
try:
    tune.run_experiments(
        {{"ctrlc": {{"run": "slow", "num_samples": 4, "stop": {{"training_iteration": 40}},
                     "config": {{"sleep": 0.05}}, "checkpoint_freq": 5, "local_dir": {local!r}}}}},
        verbose=0, executor_config={{"num_cpus": 2}})
except KeyboardInterrupt as exc:
    print("INTERRUPTED", exc, flush=True)
    raise
print("RETURNED", flush=True)
"""


def _wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    """Wait for an event (a file a trial writes); the timeout only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _start_sigint_driver(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """The driver, once two trials have trained (each worker left its mark)."""
    script = tmp_path / "driver.py"
    local, marks = tmp_path / "results", tmp_path / "marks"
    marks.mkdir()
    script.write_text(SIGINT_DRIVER.format(paths=[str(ROOT / "tests"), str(ROOT)], local=str(local),
                                           marks=str(marks), hold=str(tmp_path / "hold")))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    _wait_for(lambda: len(list(marks.glob("[0-9]*[0-9]"))) >= 2, "two trials to train")
    return driver, local / "ctrlc", marks


def _check_resumable(experiment_dir: Path, cli: bool = False) -> None:
    if cli:  # The command a user is told to run.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
        out = subprocess.run([sys.executable, "-m", "tune_core", "resume", str(experiment_dir), "-v", "0",
                              "--executor-config", '{"num_cpus": 2}'], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "4 of 4 trials completed" in out.stdout
    else:
        from tune_core.cli.resume import resume_experiments

        trials = resume_experiments([str(experiment_dir)], {"num_cpus": 2}, verbose=0)
        assert [t.status for t in trials] == ["TERMINATED"] * 4
    for trial_dir in sorted(p for p in experiment_dir.iterdir() if p.is_dir()):
        lines = [json.loads(x) for x in (trial_dir / "result.json").read_text().splitlines()]
        assert [r["training_iteration"] for r in lines] == list(range(1, 41)), trial_dir.name
        assert lines[-1]["x"] == 40


def test_first_ctrl_c_stops_saves_and_raises_keyboard_interrupt(tmp_path: Path) -> None:
    driver, experiment_dir, _ = _start_sigint_driver(tmp_path)
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGINT, err  # KeyboardInterrupt, as any Python code
    line = [x for x in err.splitlines() if x.startswith("tune-core: interrupted: ")]
    assert len(line) == 1, err
    assert re.fullmatch(rf"tune-core: interrupted: \d of 4 trials finished; resume with: tune-core resume "
                        rf"{re.escape(str(experiment_dir))}", line[0])
    assert "INTERRUPTED interrupted: " in out and "RETURNED" not in out
    state = json.loads((experiment_dir / "experiment_state.json").read_text())
    statuses = [t["status"] for t in state["trials"]]
    assert set(statuses) <= {"RUNNING", "PENDING", "TERMINATED"} and "RUNNING" in statuses  # kept, to go on
    _check_resumable(experiment_dir)


def test_second_ctrl_c_quits_at_once_and_leaves_a_resumable_state(tmp_path: Path) -> None:
    driver, experiment_dir, marks = _start_sigint_driver(tmp_path)
    hold = tmp_path / "hold"
    hold.touch()
    _wait_for(lambda: len(list(marks.glob("*.held"))) >= 2, "two trials held inside _train")
    assert driver.stderr is not None
    driver.send_signal(signal.SIGINT)
    _wait_for(lambda: "stopping the trials" in driver.stderr.readline(), "the first Ctrl-C to be handled")
    held = [int(p.name.split(".")[0]) for p in marks.glob("*.held")]
    assert driver.poll() is None and len(held) >= 2 and all(psutil.pid_exists(pid) for pid in held)
    driver.send_signal(signal.SIGINT)
    driver.communicate(timeout=60)
    hold.unlink()
    assert driver.returncode != 0
    _check_resumable(experiment_dir, cli=True)


JOB_DRIVER = """
import os
import signal
import sys
import time
sys.path[:0] = {paths!r}
import tune_core as tune


class Job(tune.Trainable):
    \"\"\"Notes each launch (``_setup``) in SETUPS. Trial c, the first time (no FLAG yet), interrupts the
    driver at its 2nd iteration and runs on slowly until it is stopped.\"\"\"

    def _setup(self, config):
        with open(config["setups"], "a") as f:
            f.write(config["name"] + "\\n")
        self.i = 0
        self.first_time = not os.path.exists(config["flag"])

    def _train(self):
        self.i += 1
        if self.config["name"] == "c" and self.first_time:
            if self.i == 2:
                open(self.config["flag"], "w").close()
                os.kill(os.getppid(), signal.SIGINT)
            if self.i >= 2:
                time.sleep(0.05)
                return {{"i": self.i}}
        return {{"i": self.i, "done": self.i >= 3}}

    def _save(self, checkpoint_dir):
        return {{"i": self.i}}

    def _restore(self, checkpoint):
        self.i = checkpoint["i"]


tune.run_experiments(
    {{"exp": {{"run": Job, "checkpoint_freq": 1, "local_dir": sys.argv[1],
               "config": {{"name": tune.grid_search(["a", "b", "c"]), "setups": {setups!r}, "flag": {flag!r}}}}}}},
    verbose=0, executor_config={{"num_cpus": 1}}, resume="resume" in sys.argv)
print("FINISHED", flush=True)
"""


class JobRun:
    """Runs JOB_DRIVER: trials a, b, c one at a time; c interrupts the first run."""

    def __init__(self, tmp_path: Path) -> None:
        self.setups, self.flag = tmp_path / "setups.txt", tmp_path / "flag"
        self.script = tmp_path / "jobs.py"
        self.script.write_text(JOB_DRIVER.format(paths=[str(ROOT)], setups=str(self.setups), flag=str(self.flag)))

    def __call__(self, local: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(self.script), str(local), *args], capture_output=True,
                              text=True, timeout=120)

    def launches(self) -> list[str]:
        return self.setups.read_text().split()


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _state(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "experiment_state.json").read_text())


def test_resume_launches_only_unfinished_trials_and_nothing_once_finished(tmp_path: Path) -> None:
    jobs, local = JobRun(tmp_path), tmp_path / "results"
    first = jobs(local)
    assert first.returncode == -signal.SIGINT, first.stderr
    assert "tune-core: interrupted: 2 of 3 trials finished" in first.stderr
    assert jobs.launches() == ["a", "b", "c"]
    assert [t["status"] for t in _state(local / "exp")["trials"]] == ["TERMINATED", "TERMINATED", "RUNNING"]
    done = {name: data for name, data in _files(local / "exp").items() if name.startswith(("Job_0", "Job_1"))}

    second = jobs(local, "resume")
    assert second.returncode == 0 and "FINISHED" in second.stdout, second.stderr
    assert jobs.launches() == ["a", "b", "c", "c"], "only the unfinished trial is launched again"
    assert {n: d for n, d in _files(local / "exp").items() if n in done} == done, "finished trials were touched"
    assert [t["status"] for t in _state(local / "exp")["trials"]] == ["TERMINATED"] * 3
    (c_dir,) = (local / "exp").glob("Job_2_*")
    lines = [json.loads(x) for x in (c_dir / "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in lines] == [1, 2, 3], "each iteration logged once"

    before = _files(local / "exp")
    third = jobs(local, "resume")
    assert third.returncode == 0, third.stderr
    assert jobs.launches() == ["a", "b", "c", "c"], "a finished run launched a trial again"
    after = _files(local / "exp")
    assert {n: d for n, d in after.items() if n != "experiment_state.json"} == {
        n: d for n, d in before.items() if n != "experiment_state.json"}


def test_moved_experiment_resumes_where_it_is_and_leaves_the_old_place_alone(tmp_path: Path) -> None:
    jobs, local, elsewhere = JobRun(tmp_path), tmp_path / "results", tmp_path / "moved"
    assert jobs(local).returncode == -signal.SIGINT
    elsewhere.mkdir()
    (local / "exp").rename(elsewhere / "exp")
    newcomer = jobs(local)  # The same name at the old place (the flag is set: this one finishes).
    assert newcomer.returncode == 0, newcomer.stderr
    untouched = _files(local / "exp")

    out = subprocess.run([sys.executable, "-m", "tune_core", "resume", str(elsewhere / "exp"), "-v", "0"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert "3 of 3 trials completed" in out.stdout
    assert _files(local / "exp") == untouched, "the resume wrote into the experiment at the old place"
    state = _state(elsewhere / "exp")
    assert [t["status"] for t in state["trials"]] == ["TERMINATED"] * 3
    recorded = [t["logdir"] for t in state["trials"]] + [t["checkpoint"] for t in state["trials"]]
    assert all(path.startswith(str(elsewhere / "exp") + os.sep) for path in recorded), recorded
    assert state["directory"] == str(elsewhere / "exp")
    (c_dir,) = (elsewhere / "exp").glob("Job_2_*")
    lines = [json.loads(x) for x in (c_dir / "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in lines] == [1, 2, 3]
    assert jobs.launches() == ["a", "b", "c", "a", "b", "c", "c"]
