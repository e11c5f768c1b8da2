"""Bad inputs that show where a trial runs, with real worker processes: values that cannot be sent,
stop criteria the results cannot meet, workers killed mid-trial, tracebacks of code sent by value,
pin handles, corrupt checkpoints, and a run that fails after its workers started.

Each failure is a ``TuneError`` that names the key, value or path; nothing reported before it is lost.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import psutil
import pytest

import tune_core as tune
from tune_core import TuneError
from tune_core.checkpoints import METADATA, OBJECT_FILE
from tune_core.executors.local.executor import LocalExecutor
from tune_core.runtime import shipping

ROOT = Path(__file__).resolve().parent.parent


def _run(local_dir: Path, spec: dict[str, Any], **kwargs: Any) -> list[Any]:
    kwargs.setdefault("executor_config", {"num_cpus": 2})
    return tune.run_experiments({"exp": {"local_dir": str(local_dir), **spec}}, verbose=0,
                                raise_on_failed_trial=False, **kwargs)


def _results(trial: Any) -> list[dict[str, Any]]:
    path = Path(trial.logdir, "result.json")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _error(trial: Any) -> str:
    assert trial.status == "ERROR", (trial.status, _results(trial)[-1:])
    return Path(trial.error_file).read_text()


def _generator() -> Any:
    yield 1


BAD_VALUES = {
    "lambda": lambda: (lambda: 1),
    "lock": threading.Lock,
    "file": lambda: open(os.devnull),  # noqa: SIM115
    "generator": _generator,
}


def reports_a_bad_value(config: dict[str, Any], reporter: Any) -> None:
    """Reports ``good`` results, then one holding an unpicklable value, then ``after`` more."""
    for i in range(config["good"]):
        reporter(i=i)
    reporter(i=-1, **{config["key"]: BAD_VALUES[config["kind"]]()})
    for i in range(config["after"]):
        time.sleep(0.02)  # The sender has found the bad batch by now: the next report raises.
        reporter(i=100 + i)


@pytest.mark.parametrize(("kind", "good", "after"), [
    ("lambda", 3, 0),  # The bad result is the last: found when the trial ends.
    ("lock", 2, 3),  # Found by the background sender; the next report raises.
    ("file", 0, 2),  # The first result is the bad one: nothing before it to keep.
    ("generator", 1500, 1),  # Past the inline flush (512 results): batches sent from the trial's thread.
])
def test_an_unpicklable_value_fails_the_trial_naming_the_key(local_dir: Path, kind: str, good: int,
                                                             after: int) -> None:
    (trial,) = _run(local_dir, {"run": reports_a_bad_value,
                                "config": {"kind": kind, "key": "bad_key", "good": good, "after": after}})
    error = _error(trial)
    assert "TuneError" in error and "'bad_key'" in error and "cannot be pickled" in error, error
    assert f"result {good + 1} of trial" in error, error
    assert [r["i"] for r in _results(trial)] == list(range(good)), "a result before the bad one was lost"


def test_the_seed_reporter_and_tune_report_alike(local_dir: Path) -> None:
    def reports_twice(config: dict[str, Any]) -> None:
        tune.report(ok=1)
        tune.report(ok=2, handle=threading.Lock())
        time.sleep(0.05)
        tune.report(ok=3)

    (trial,) = _run(local_dir, {"run": reports_twice})
    error = _error(trial)
    assert "'handle'" in error and "_thread.lock" in error, error
    assert "tune.report(ok=3)" in error, "the TuneError is raised in the trial's code, at its next report"
    assert [r["ok"] for r in _results(trial)] == [1]


class ReturnsALock(tune.Trainable):
    def _train(self) -> dict[str, Any]:
        time.sleep(0.02)
        return {"step": self.iteration, "lock": threading.Lock()} if self.iteration == 2 else {"step": self.iteration}


def test_a_trainable_that_returns_an_unpicklable_value(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": ReturnsALock, "stop": {"training_iteration": 6}})
    error = _error(trial)
    assert "'lock'" in error and "result 3 of trial" in error, error
    assert [r["step"] for r in _results(trial)] == [0, 1]


def reports_positionally(config: dict[str, Any], reporter: Any) -> None:
    reporter({"score": 1.0}, step=1)  # One dict of metrics, as Ray's later API takes it.
    reporter(*config["given"])


@pytest.mark.parametrize(("given", "shown"), [
    ((0.5,), "reporter(0.5): metrics are given by name"),
    (({"a": 1}, {"b": 2}), "got 2 positional values"),
    (({1: 2},), "as one dict with string keys"),
])
def test_a_positional_report_is_a_dict_of_metrics_or_a_clear_error(local_dir: Path, given: tuple[Any, ...],
                                                                   shown: str) -> None:
    (trial,) = _run(local_dir, {"run": reports_positionally, "config": {"given": given}})
    assert shown in _error(trial)
    assert [(r["score"], r["step"]) for r in _results(trial)] == [(1.0, 1)]


def returns(config: dict[str, Any]) -> Any:
    tune.report(step=1)
    return config["returned"]


def test_a_function_trainable_returning_a_non_dict_fails_naming_what_it_returned(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": returns, "config": {"returned": 0.93}})
    error = _error(trial)
    assert "returns at" in error and "returned 0.93 (float)" in error and "None or a dict" in error, error
    assert [r["step"] for r in _results(trial)] == [1]


def test_a_function_trainable_may_return_none_or_a_dict(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": returns, "config": {"returned": tune.grid_search([None, {"final": 2}])}})
    assert [t.status for t in trials] == ["TERMINATED", "TERMINATED"]
    assert [r.get("final") for r in _results(trials[1])] == [None, 2]


# --- stop criteria -----------------------------------------------------------------------------
def reports_accuracy(config: dict[str, Any], reporter: Any) -> Any:
    for i in range(3):
        reporter(mean_accuracy=config.get("value", i), loss=1.0)
    return config.get("returned")


def test_a_stop_metric_no_result_carries_is_an_error_at_the_first_result(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": reports_accuracy, "stop": {"mean_acuracy": 0.9}})
    error = _error(trial)
    assert "stop criterion 'mean_acuracy'" in error and "result 1 of trial" in error, error
    assert "did you mean 'mean_accuracy'" in error and "'loss'" in error and "training_iteration" in error
    assert len(_results(trial)) == 1, "the result that shows the problem is kept, and nothing runs after it"


@pytest.mark.parametrize(("value", "shown"), [("high", "'high' (str)"), (None, "None (NoneType)"),
                                              ([1, 2], "[1, 2] (list)")])
def test_a_stop_metric_that_is_not_a_number_names_value_and_type(local_dir: Path, value: Any, shown: str) -> None:
    (trial,) = _run(local_dir, {"run": reports_accuracy, "stop": {"mean_accuracy": 0.9},
                                "config": {"value": value}})
    error = _error(trial)
    assert f"reported mean_accuracy={shown}" in error and "not a number" in error, error


def test_auto_fields_and_a_final_returned_summary_need_no_metric(local_dir: Path) -> None:
    trials = _run(local_dir, {"run": reports_accuracy, "config": {"returned": tune.grid_search([{}, {"x": 1}])},
                              "stop": {"training_iteration": 5, "time_total_s": 1e9}})
    assert [t.status for t in trials] == ["TERMINATED", "TERMINATED"]
    for trial in trials:
        results = _results(trial)
        assert len(results) == 4 and results[-1]["done"]


class Forgetful(tune.Trainable):
    def _train(self) -> dict[str, Any]:
        return {"score": 1} if self.iteration < 2 else {"other": 1}


def test_a_class_trainable_that_stops_reporting_the_metric(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": Forgetful, "stop": {"score": 100}})
    error = _error(trial)
    assert "stop criterion 'score'" in error and "result 3 of trial" in error and "'other'" in error, error


# --- workers killed mid-trial --------------------------------------------------------------------
def dies_until_last_attempt(config: dict[str, Any]) -> None:
    """Prints on both streams, then kills its own worker with SIGKILL, until attempt ``attempts``."""
    marks = Path(config["marks"]) / str(config["i"])
    with open(marks, "a") as f:
        f.write("x")
    attempt = marks.stat().st_size
    print(f"attempt {attempt} out", flush=True)
    print(f"attempt {attempt} err", file=sys.stderr, flush=True)
    if attempt < config["attempts"]:
        os.kill(os.getpid(), signal.SIGKILL)
    tune.report(attempt=attempt)


def test_output_of_killed_workers_reaches_the_trial_and_nothing_is_left(tmp_path: Path, local_dir: Path) -> None:
    attempts = 7
    marks = tmp_path / "marks"
    marks.mkdir()
    trials = _run(local_dir, {"run": dies_until_last_attempt, "max_failures": attempts,
                              "config": {"i": tune.grid_search([0, 1]), "attempts": attempts, "marks": str(marks)}})
    assert [t.status for t in trials] == ["TERMINATED", "TERMINATED"]
    assert not list((local_dir / "exp").glob(".tune_worker_*")), "a dead worker's spare files were left behind"
    expected = range(1, attempts + 1)
    for trial in trials:
        assert Path(trial.logdir, "stdout").read_text() == "".join(f"attempt {n} out\n" for n in expected)
        assert Path(trial.logdir, "stderr").read_text() == "".join(f"attempt {n} err\n" for n in expected)
        assert len(list(Path(trial.logdir).glob("error_*.txt"))) == attempts - 1


KILLED_DRIVER = """
import os, sys, time
sys.path[:0] = [{root!r}]
import tune_core as tune

def prints_then_waits(config):
    resumed = os.path.exists({flag!r})
    print("resumed run" if resumed else "first run", flush=True)
    if not resumed:
        open({ready!r}, "w").close()
        time.sleep(600)
    tune.report(done_ok=1)

tune.register_trainable("waits", prints_then_waits)
trials = tune.run_experiments({{"exp": {{"run": "waits", "local_dir": {local!r}}}}}, verbose=0,
                              resume=len(sys.argv) > 1, executor_config={{"num_cpus": 1}})
print("DONE", [t.status for t in trials])
"""


def _state_lists_a_trial(experiment_dir: Path) -> bool:
    try:
        return bool(json.loads((experiment_dir / "experiment_state.json").read_text())["trials"])
    except (OSError, ValueError, KeyError):
        return False


def test_output_left_by_a_killed_driver_reaches_the_trial_on_resume(tmp_path: Path) -> None:
    local, flag, ready = tmp_path / "results", tmp_path / "resume", tmp_path / "ready"
    script = tmp_path / "driver.py"
    script.write_text(KILLED_DRIVER.format(root=str(ROOT), flag=str(flag), ready=str(ready), local=str(local)))
    driver = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and _state_lists_a_trial(local / "exp")):
            assert time.monotonic() < deadline and driver.poll() is None, "the trial never started"
            time.sleep(0.02)
        workers = psutil.Process(driver.pid).children(recursive=True)
        driver.kill()
        driver.wait()
        psutil.wait_procs(workers, timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
    left = list((local / "exp").glob(".tune_worker_*"))
    assert left, "the killed worker left no spare file: this test would test nothing"
    flag.touch()
    out = subprocess.run([sys.executable, str(script), "resume"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "DONE ['TERMINATED']" in out.stdout
    assert not list((local / "exp").glob(".tune_worker_*"))
    (trial_dir,) = [p for p in (local / "exp").iterdir() if p.is_dir()]
    assert (trial_dir / "stdout").read_text() == "first run\nresumed run\n"


# --- tracebacks of code sent by value --------------------------------------------------------------
BY_VALUE_DRIVER = """
import sys
sys.path[:0] = [{root!r}]
import tune_core as tune


def fails(config, reporter):
    reporter(step=1)
    table = {{}}
    return table["no-such-key"]  # the failing line


(trial,) = tune.run_experiments({{"exp": {{"run": fails, "local_dir": {local!r}}}}}, verbose=0,
                                raise_on_failed_trial=False, executor_config={{"num_cpus": 1}})
print(open(trial.error_file).read())
"""


@pytest.mark.parametrize("start", ["auto", "spawn"])
def test_a_traceback_names_the_users_file_and_line(tmp_path: Path, start: str) -> None:
    script = tmp_path / "my_training.py"
    script.write_text(BY_VALUE_DRIVER.format(root=str(ROOT), local=str(tmp_path / "results")))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, TUNE_WORKER_START=start))
    assert out.returncode == 0, out.stderr
    line = script.read_text().splitlines().index('    return table["no-such-key"]  # the failing line') + 1
    assert f'File "{script}", line {line}, in fails' in out.stdout, out.stdout
    assert 'return table["no-such-key"]  # the failing line' in out.stdout
    assert "<dynamic-code>" not in out.stdout


def test_code_whose_file_is_gone_keeps_its_name_and_line() -> None:
    namespace: dict[str, Any] = {}
    exec(compile("\n\ndef f():\n    return 1 / 0\n", "/no/such/dir/train.py", "exec"), namespace)
    f = shipping.loads(shipping.dumps(namespace["f"]))
    assert f.__code__.co_filename == "/no/such/dir/train.py"
    with pytest.raises(ZeroDivisionError) as info:
        f()
    assert info.traceback[-1].lineno + 1 == 4  # pytest counts from 0


# --- pinned objects and checkpoints ------------------------------------------------------------------
@pytest.mark.parametrize(("given", "shown"), [(5, "5 is not a handle (type int)"),
                                              ("abc", "'abc' is not a handle (type str)"),
                                              (None, "None is not a handle (type NoneType)"),
                                              ([1, 2], "[1, 2] is not a handle (type list)")])
def test_get_pinned_object_of_a_non_handle(given: Any, shown: str) -> None:
    with pytest.raises(TuneError) as info:
        tune.get_pinned_object(given)
    assert shown in str(info.value)
    assert "expected the handle pin_in_object_store() returned, a str starting with" in str(info.value)


def test_get_pinned_object_of_the_pinned_object_itself() -> None:
    obj = {"weights": [1, 2, 3]}
    handle = tune.pin_in_object_store(obj)
    assert tune.get_pinned_object(handle) is obj
    with pytest.raises(TuneError, match="that is the pinned object itself: pass the handle"):
        tune.get_pinned_object(obj)


def _checkpoint(tmp_path: Path, meta: bytes | None, obj: bytes | None = None) -> Path:
    directory = tmp_path / "checkpoint_000003"
    directory.mkdir()
    if meta is not None:
        (directory / METADATA).write_bytes(meta)
    if obj is not None:
        (directory / OBJECT_FILE).write_bytes(obj)
    return directory


GOOD_META = pickle.dumps({"kind": "dict", "path": OBJECT_FILE,
                          "filler": {"iteration": 3, "time_total": 1.0, "timesteps_total": None}})


@pytest.mark.parametrize(("case", "match"), [
    ("a-file", r"is a file, and its directory .* is not a tune-core checkpoint \(no \.tune_metadata\)"),
    ("no-metadata", r"is not a tune-core checkpoint \(no \.tune_metadata\)"),
    ("metadata-garbage", r"corrupt checkpoint metadata in .*\.tune_metadata: UnpicklingError"),
    ("metadata-json", r"corrupt checkpoint metadata in .*\.tune_metadata"),
    ("metadata-not-a-dict", r"corrupt checkpoint metadata in .*: a list, not a dict"),
    ("metadata-missing-key", r"corrupt checkpoint metadata in .*: missing or bad 'filler'"),
    ("object-missing", r"lacks its object file .*checkpoint\.pkl"),
    ("object-truncated", r"its object file .*checkpoint\.pkl is not a complete pickle"),
    ("object-garbage", r"its object file .*checkpoint\.pkl is not a complete pickle"),
])
def test_a_corrupt_checkpoint_given_to_restore_names_the_path(tmp_path: Path, case: str, match: str) -> None:
    (tmp_path / "ckpt").mkdir()
    where = tmp_path / "ckpt"
    good_object = pickle.dumps({"step": 3, "weights": list(range(100))})
    path = {
        "a-file": lambda: (where / "notes.txt", (where / "notes.txt").write_text("x")),
        "no-metadata": lambda: (_checkpoint(where, None), None),
        "metadata-garbage": lambda: (_checkpoint(where, b"\x80\x05garbage"), None),
        "metadata-json": lambda: (_checkpoint(where, b'{"kind": "dict"}'), None),
        "metadata-not-a-dict": lambda: (_checkpoint(where, pickle.dumps([1])), None),
        "metadata-missing-key": lambda: (_checkpoint(where, pickle.dumps({"kind": "dict", "path": "x"})), None),
        "object-missing": lambda: (_checkpoint(where, GOOD_META), None),
        "object-truncated": lambda: (_checkpoint(where, GOOD_META, good_object[:-7]), None),
        "object-garbage": lambda: (_checkpoint(where, GOOD_META, b"not a pickle at all"), None),
    }[case]()[0]
    before = sorted(p.name for p in where.rglob("*"))
    with pytest.raises(TuneError, match=match) as info:
        _run(tmp_path / "results", {"run": reports_accuracy, "restore": str(path)})
    assert str(path) in str(info.value)
    assert not (tmp_path / "results").exists(), "a refused restore must write nothing"
    assert sorted(p.name for p in where.rglob("*")) == before


def test_a_checkpoint_object_that_cannot_be_loaded_fails_the_trial_naming_it(tmp_path: Path) -> None:
    # A complete pickle, of a class that cannot be imported where the trial runs.
    module = types.ModuleType("gone_by_now")
    exec("class Thing:\n    pass\n", module.__dict__)
    sys.modules["gone_by_now"] = module
    try:
        blob = pickle.dumps(module.Thing())
    finally:
        del sys.modules["gone_by_now"]
    path = _checkpoint(tmp_path, GOOD_META, blob)

    def loads_it(config: dict[str, Any]) -> None:
        tune.load_checkpoint()

    (trial,) = _run(tmp_path / "results", {"run": loads_it, "restore": str(path)})
    error = _error(trial)
    assert f"could not load the checkpoint object {path / OBJECT_FILE}" in error and "gone_by_now" in error, error


# --- no worker outlives a failed run -------------------------------------------------------------------
class ResourcesOfTheWrongType(LocalExecutor):
    """Starts its workers in ``prepare``; then the runner refuses what ``total_resources`` returns."""

    def total_resources(self) -> Any:
        return "lots"


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_a_run_that_fails_after_prepare_leaves_no_worker(tmp_path: Path) -> None:
    before = _children()
    with pytest.raises(TuneError, match="total_resources"):
        _run(tmp_path / "results", {"run": reports_accuracy, "num_samples": 2},
             executor=ResourcesOfTheWrongType(num_cpus=2), executor_config=None)
    deadline = time.monotonic() + 5  # Bounds a broken shutdown only: a good one is done when run returns.
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children() - before, "workers outlived the failed run"


def test_workers_stop_when_the_executor_is_dropped(tmp_path: Path) -> None:
    before = _children()
    executor = LocalExecutor(num_cpus=2)
    executor.prepare(2)
    assert len(_children() - before) == 2
    del executor
    assert not _children() - before, "a dropped executor's workers must stop (and be reaped) at once"
