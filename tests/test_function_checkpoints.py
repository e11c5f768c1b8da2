"""Checkpoints of function trainables end to end: real worker processes, real directories read back.

The trainables live in this module so worker processes can import them by reference.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from runs import result_lines as _lines
from runs import run_exp as _run

import tune_core as tune
from tune_core import checkpoints
from tune_core.interfaces import TrialLaunch
from tune_core.resources import Resources
from tune_core.runtime import Session


# --- trainables ------------------------------------------------------------------------------
def stepper(config: dict[str, Any], reporter: Any) -> None:
    """Counts ``value`` up to ``iters``, one per iteration, checkpointing as the config says.

    ``mode``: ``"obj"`` (save_checkpoint) or ``"dir"`` (checkpoint_dir, a file). ``every``: checkpoint
    each iteration; otherwise only when ``should_checkpoint()``. ``fail_after``: raise once, right
    after checkpointing that value, while the ``marker`` file does not exist.
    """
    mode = config.get("mode", "obj")
    value, restored_from, loaded = 0, None, None
    path = tune.get_checkpoint()
    if path is not None:
        restored_from = os.path.basename(path)
        if mode == "obj":
            loaded = tune.load_checkpoint()
            value = loaded["value"]
        else:
            loaded = tune.load_checkpoint()  # None: a directory checkpoint holds no object.
            value = int(Path(path, "state.txt").read_text())
    while value < config.get("iters", 4):
        value += 1
        reporter(value=value, restored_from=restored_from, loaded=repr(loaded), timesteps_this_iter=10)
        if config.get("every", True) or tune.should_checkpoint():
            if mode == "obj":
                tune.save_checkpoint({"value": value})
            else:
                with tune.checkpoint_dir() as directory:
                    Path(directory, "state.txt").write_text(str(value))
        if value == config.get("fail_after") and not os.path.exists(config["marker"]):
            Path(config["marker"]).write_text("failed once")
            raise RuntimeError(f"planned failure after {value}")


def checkpoints_first(config: dict[str, Any], reporter: Any) -> None:
    if config["how"] == "dir":
        with tune.checkpoint_dir():
            pass
    else:
        tune.save_checkpoint({"too": "early"})
    reporter(never=True)


def aborts_a_checkpoint(config: dict[str, Any], reporter: Any) -> None:
    """Leaves a checkpoint block by an error (its own, or a report inside the block), then saves
    an object that cannot be pickled."""
    reporter(step=1)
    caught = ""
    try:
        with tune.checkpoint_dir() as directory:
            Path(directory, "half.txt").write_text("half")
            if config["how"] == "raise":
                raise ValueError("disk full")
            reporter(step=2)
    except (ValueError, tune.TuneError) as exc:
        caught = str(exc)
    try:
        tune.save_checkpoint({"not picklable": lambda: 0})
    except tune.TuneError as exc:
        caught += " | " + str(exc)
    reporter(step=3, caught=caught)


def corrupts_then_fails(config: dict[str, Any], reporter: Any) -> None:
    """Checkpoints, spoils the checkpoint's metadata, then fails: the restart cannot use it."""
    if tune.get_checkpoint() is not None:
        reporter(restored=True)
        return
    reporter(step=1)
    directory = tune.save_checkpoint({"step": 1})
    Path(directory, checkpoints.METADATA).write_bytes(b"not a pickle")
    raise RuntimeError("fail so that the trial restarts from the spoiled checkpoint")


# --- helpers ---------------------------------------------------------------------------------
def _checkpoint_dirs(trial: Any) -> list[str]:
    return sorted(p.name for p in Path(trial.logdir).iterdir() if p.name.startswith("checkpoint_"))


def _leftovers(trial: Any) -> list[str]:
    return [p.name for p in Path(trial.logdir).iterdir() if p.name.startswith((".tmp_", ".old_"))]


def _metadata(directory: Path) -> dict[str, Any]:
    with open(directory / checkpoints.METADATA, "rb") as f:
        meta: dict[str, Any] = pickle.load(f)
    return meta


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["dir", "obj"])
def test_checkpoint_every_iteration_writes_directories_and_tells_the_driver(local_dir: Path, mode: str) -> None:
    (trial,) = _run(local_dir, {"run": stepper, "config": {"mode": mode, "iters": 4}})
    assert trial.status == "TERMINATED"
    assert _checkpoint_dirs(trial) == [f"checkpoint_{i:06d}" for i in range(1, 5)]
    assert not _leftovers(trial)
    for i in range(1, 5):
        directory = Path(trial.logdir, f"checkpoint_{i:06d}")
        meta = _metadata(directory)
        assert meta["filler"]["iteration"] == i
        assert meta["filler"]["timesteps_total"] == 10 * i
        if mode == "dir":
            assert meta["kind"] == "path"
            assert (directory / "state.txt").read_text() == str(i)
        else:
            assert meta["kind"] == "dict"
            with open(directory / meta["path"], "rb") as f:
                assert pickle.load(f) == {"value": i}
    assert trial.checkpoint == str(Path(trial.logdir, "checkpoint_000004"))
    assert trial.checkpoint_iteration == 4
    assert [r["restored_from"] for r in _lines(trial)] == [None] * 4


@pytest.mark.parametrize("mode", ["dir", "obj"])
def test_restore_spec_key_resumes_after_the_checkpoint(local_dir: Path, mode: str) -> None:
    (first,) = _run(local_dir / "a", {"run": stepper, "config": {"mode": mode, "iters": 4}})
    source = Path(first.logdir, "checkpoint_000002")
    saved_time = _metadata(source)["filler"]["time_total"]

    (trial,) = _run(local_dir / "b", {"run": stepper, "config": {"mode": mode, "iters": 100},
                                      "restore": str(source), "stop": {"training_iteration": 4}})
    assert trial.status == "TERMINATED"
    lines = _lines(trial)
    assert [r["training_iteration"] for r in lines] == [3, 4]
    assert [r["value"] for r in lines] == [3, 4]
    assert [r["timesteps_total"] for r in lines] == [30, 40]
    assert lines[0]["time_total_s"] >= saved_time
    assert {r["restored_from"] for r in lines} == {"checkpoint_000002"}
    assert lines[0]["loaded"] == (repr({"value": 2}) if mode == "obj" else "None")
    assert lines[-1]["done"] is True
    assert _checkpoint_dirs(trial) == ["checkpoint_000003"]  # 4 ended the trial before it could save.


def test_failed_attempt_restarts_from_its_checkpoint(local_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "failed_once"
    (trial,) = _run(local_dir, {"run": stepper, "max_failures": 1,
                                "config": {"iters": 6, "fail_after": 3, "marker": str(marker)}})
    assert marker.exists()
    assert trial.status == "TERMINATED"
    assert trial.num_failures == 1
    assert "planned failure after 3" in Path(trial.logdir, "error_1.txt").read_text()
    lines = _lines(trial)
    resumed = [r for r in lines if r["restored_from"] is not None]
    assert {r["restored_from"] for r in resumed} == {"checkpoint_000003"}
    assert resumed[0]["training_iteration"] == 4
    assert resumed[0]["loaded"] == repr({"value": 3})
    assert [r["value"] for r in resumed] == [4, 5, 6]
    # The first attempt failed right after its checkpoint, so each iteration was reported once.
    assert [r["training_iteration"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert trial.checkpoint_iteration == 6


def test_should_checkpoint_follows_checkpoint_freq(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": stepper, "checkpoint_freq": 2,
                                "config": {"iters": 5, "every": False, "mode": "dir"}})
    assert trial.status == "TERMINATED"
    assert _checkpoint_dirs(trial) == ["checkpoint_000002", "checkpoint_000004"]
    assert trial.checkpoint_iteration == 4
    (never,) = _run(local_dir / "b", {"run": stepper, "config": {"iters": 3, "every": False}})
    assert _checkpoint_dirs(never) == []
    assert never.checkpoint is None


@pytest.mark.parametrize("call", [
    tune.checkpoint_dir, tune.get_checkpoint, tune.load_checkpoint, tune.should_checkpoint,
    lambda: tune.save_checkpoint({"a": 1}),
])
def test_checkpoint_calls_outside_a_trial_raise(call: Any) -> None:
    with pytest.raises(tune.TuneError, match="outside a trial"):
        call()


@pytest.mark.parametrize("how", ["dir", "obj"])
def test_checkpoint_before_any_report_fails_the_trial(local_dir: Path, how: str) -> None:
    (trial,) = _run(local_dir, {"run": checkpoints_first, "config": {"how": how}},
                    raise_on_failed_trial=False)
    assert trial.status == "ERROR"
    text = Path(trial.error_file).read_text()
    assert "TuneError" in text and "before the trial reported any result" in text
    assert _checkpoint_dirs(trial) == [] and not _leftovers(trial)


@pytest.mark.parametrize(("how", "message"), [("raise", "disk full"), ("report", "reported inside")])
def test_a_checkpoint_block_that_raises_leaves_nothing(local_dir: Path, how: str, message: str) -> None:
    (trial,) = _run(local_dir, {"run": aborts_a_checkpoint, "config": {"how": how}})
    assert trial.status == "TERMINATED"
    assert message in trial.last_result["caught"]
    assert "cannot be pickled" in trial.last_result["caught"]
    assert _checkpoint_dirs(trial) == [] and not _leftovers(trial)
    assert trial.checkpoint is None


def test_restart_from_a_spoiled_checkpoint_fails_naming_it(local_dir: Path) -> None:
    (trial,) = _run(local_dir, {"run": corrupts_then_fails, "max_failures": 1}, raise_on_failed_trial=False)
    assert trial.status == "ERROR"
    assert trial.num_failures == 2
    text = Path(trial.logdir, "error_2.txt").read_text()
    assert "TuneError" in text and "corrupt checkpoint metadata" in text
    assert str(Path(trial.logdir, "checkpoint_000001")) in text
    assert not any(r.get("restored") for r in _lines(trial))


def _session(tmp_path: Path) -> Session:
    launch = TrialLaunch(trial_id="t0", trainable_name="f", trainable=None, config={},
                         logdir=str(tmp_path / "trial"), resources=Resources())
    return Session(None, launch, launch.logdir)  # type: ignore[arg-type]  # restore() sends nothing


def test_restore_validates_the_path(tmp_path: Path) -> None:
    session = _session(tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(tune.TuneError, match=f"no checkpoint at {missing}"):
        session.restore(str(missing))
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(tune.TuneError, match=r"not a tune-core checkpoint \(no .tune_metadata\)"):
        session.restore(str(bare))
    (bare / checkpoints.METADATA).write_bytes(pickle.dumps({"kind": "dict"}))
    with pytest.raises(tune.TuneError, match="corrupt checkpoint metadata"):
        session.restore(str(bare))
    (bare / checkpoints.METADATA).write_bytes(pickle.dumps(
        {"kind": "dict", "path": "checkpoint.pkl",
         "filler": {"iteration": 7, "time_total": 1.5, "timesteps_total": None}}))
    with pytest.raises(tune.TuneError, match="lacks its object file"):
        session.restore(str(bare))
    (bare / "checkpoint.pkl").write_bytes(pickle.dumps([1, 2]))
    session.restore(str(bare / "checkpoint.pkl"))  # A file inside works too.
    assert session.restored is not None and session.restored.directory == str(bare)
    assert session.load_object() == [1, 2]
    assert session.filler.state() == {"iteration": 7, "time_total": 1.5, "timesteps_total": None}
    assert session.filler.fill({})["training_iteration"] == 8
