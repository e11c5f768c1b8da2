"""A damaged ``experiment_state.json``: a ``TuneError`` naming the file and the key, never a raw
exception, a hang or a rewritten file; in ``run_experiments(resume=True)``, ``tune-core resume``,
``ExperimentAnalysis`` and ``tune-core ls``."""

from __future__ import annotations

import base64
import json
import pickle
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.analysis import ExperimentAnalysis
from tune_core.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
STATE = "experiment_state.json"


def quick(config: dict[str, Any], reporter: Any) -> None:
    reporter(score=config["x"], done=True)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-trial experiment with a complete state (copied, then damaged, by each case)."""
    local = tmp_path_factory.mktemp("good")
    tune.run_experiments({"exp": {"run": quick, "config": {"x": tune.grid_search([1, 2])}, "local_dir": str(local)}},
                         executor="thread", verbose=0)
    from tune_core.logwriter import wait_for_pending_writes

    wait_for_pending_writes()
    return local / "exp"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _set(key: str, value: Any) -> Callable[[Any], Any]:
    def mutate(state: Any) -> Any:
        state[key] = value
        return state
    return mutate


def _trial(index: int, key: str, value: Any = ..., drop: bool = False) -> Callable[[Any], Any]:
    def mutate(state: Any) -> Any:
        if drop:
            del state["trials"][index][key]
        else:
            state["trials"][index][key] = value
        return state
    return mutate


def _dup(state: Any) -> Any:
    state["trials"][1]["trial_id"] = state["trials"][0]["trial_id"]
    return state


def _raw(text: bytes) -> Callable[[Any], Any]:
    return lambda state: text


#: (case, mutation of the parsed state (or raw bytes), what the message must name).
SHAPE = [
    ("invalid-json", _raw(b'{"version": 1, "trials": ['), r"not valid JSON"),
    ("empty-file", _raw(b""), r"not valid JSON"),
    ("top-level-list", lambda s: [s], r"the top level must be an object"),
    ("top-level-string", lambda s: "state", r"the top level must be an object"),
    ("trials-object", _set("trials", {"a": 1}), r"`trials` must be a list"),
    ("trial-number", lambda s: {**s, "trials": [5, *s["trials"][1:]]}, r"trials\[0\] must be an object"),
    ("trial-string", lambda s: {**s, "trials": [s["trials"][0], "x"]}, r"trials\[1\] must be an object"),
    ("unknown-status", _trial(1, "status", "FINISHED"), r"trials\[1\]\.status must be one of PENDING"),
]
RESUME_ONLY = [
    ("no-version", lambda s: {k: v for k, v in s.items() if k != "version"}, r"incompatible version"),
    ("no-trial-id", _trial(0, "trial_id", drop=True), r"trials\[0\] has no `trial_id`"),
    ("no-status", _trial(1, "status", drop=True), r"trials\[1\] has no `status`"),
    ("no-tag", _trial(0, "experiment_tag", drop=True), r"trials\[0\] has no `experiment_tag`"),
    ("status-number", _trial(0, "status", 3), r"trials\[0\]\.status must be a string"),
    ("empty-trial-id", _trial(0, "trial_id", ""), r"trials\[0\]\.trial_id must not be empty"),
    ("duplicate-trial-id", _dup, r"trials\[1\]\.trial_id repeats"),
    ("config-list", _trial(0, "config", [1, 2]), r"trials\[0\]\.config must be an object"),
    ("no-config", _trial(0, "config", drop=True), r"trials\[0\] has neither `config`"),
    ("resources-list", _trial(0, "resources", [1]), r"trials\[0\]\.resources must be an object"),
    ("resources-negative", _trial(0, "resources", {"cpu": -1}), r"trials\[0\]\.resources"),
    ("logdir-number", _trial(0, "logdir", 5), r"trials\[0\]\.logdir must be a string"),
    ("num-results-text", _trial(1, "num_results", "3"), r"trials\[1\]\.num_results must be an integer"),
    ("last-result-list", _trial(0, "last_result", [1]), r"trials\[0\]\.last_result must be an object"),
    ("checkpoints-short", _trial(0, "checkpoints", [[1.0]]), r"trials\[0\]\.checkpoints\[0\] must be"),
    ("checkpoints-not-list", _trial(0, "checkpoints", "c"), r"trials\[0\]\.checkpoints must be a list"),
    ("config-pickle-not-base64", _trial(0, "config_pickle", "%%%"), r"trials\[0\]\.config_pickle is not base64"),
    ("config-pickle-garbage", _trial(0, "config_pickle", _b64(b"garbage")),
     r"trials\[0\]\.config_pickle is not a valid pickle"),
    ("searcher-not-base64", _set("searcher_state", "not base64!"), r"`searcher_state` is not base64"),
    ("searcher-not-pickle", _set("searcher_state", _b64(b"\x80\x05garbage")), r"`searcher_state` is not a valid"),
    ("scheduler-truncated", _set("scheduler_state", _b64(pickle.dumps({"a": 1})[:-3])),
     r"`scheduler_state` is not a valid pickle"),
    ("scheduler-number", _set("scheduler_state", 5), r"`scheduler_state` must be a string or null"),
    ("preexisting-string", _set("preexisting", "abc"), r"`preexisting` must be a list of strings"),
    ("import-paths-numbers", _set("import_paths", [1]), r"`import_paths` must be a list of strings"),
    ("timestamp-text", _set("timestamp", "now"), r"`timestamp` must be a number"),
    ("directory-number", _set("directory", 7), r"`directory` must be a string or null"),
]
#: Only ``tune-core resume`` reads the saved spec and components.
CLI_ONLY = [
    ("spec-list", _set("spec", _b64(pickle.dumps([1]))), r"`spec` holds a list"),
    ("spec-no-run", _set("spec", _b64(pickle.dumps({"name": "exp", "trainable_name": "quick"}))), r"lacks run"),
    ("spec-missing-module", _set("spec", _b64(pickle.dumps({"run": Path}).replace(b"pathlib", b"nomodul"))),
     r"`spec` cannot be loaded here"),
    ("search-alg-not-base64", _set("search_alg", "???"), r"`search_alg` is not base64"),
]


def _damage(good: Path, tmp_path: Path, mutate: Callable[[Any], Any]) -> tuple[Path, bytes]:
    directory = tmp_path / "exp"
    shutil.copytree(good, directory)
    state = json.loads((directory / STATE).read_bytes())
    changed = mutate(state)
    data = changed if isinstance(changed, bytes) else json.dumps(changed).encode()
    (directory / STATE).write_bytes(data)
    return directory, data


def _resume_in_python(directory: Path) -> None:
    tune.run_experiments({"exp": {"run": quick, "config": {"x": tune.grid_search([1, 2])},
                                  "local_dir": str(directory.parent)}},
                         resume=True, executor="thread", verbose=0)


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tune-core: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("case", "mutate", "message"), SHAPE + RESUME_ONLY, ids=[c[0] for c in SHAPE + RESUME_ONLY])
def test_resume_refuses_a_damaged_state(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
                                        mutate: Callable[[Any], Any], message: str) -> None:
    directory, data = _damage(good, tmp_path, mutate)
    state_file = directory / STATE
    with pytest.raises(tune.TuneError, match=message) as info:
        _resume_in_python(directory)
    assert str(state_file) in str(info.value)
    assert state_file.read_bytes() == data, "the damaged state was rewritten"
    err = _one_line_error(capsys, ["resume", str(directory), "-v", "0"])
    assert str(state_file) in err
    assert re.search(message, err), err
    assert state_file.read_bytes() == data


@pytest.mark.parametrize(("case", "mutate", "message"), CLI_ONLY, ids=[c[0] for c in CLI_ONLY])
def test_cli_resume_refuses_damaged_components(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               case: str, mutate: Callable[[Any], Any], message: str) -> None:
    directory, data = _damage(good, tmp_path, mutate)
    err = _one_line_error(capsys, ["resume", str(directory), "-v", "0"])
    assert re.search(message, err) and str(directory) in err, err
    assert (directory / STATE).read_bytes() == data


@pytest.mark.parametrize(("case", "mutate", "message"), SHAPE, ids=[c[0] for c in SHAPE])
def test_analysis_and_ls_of_a_damaged_state(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            case: str, mutate: Callable[[Any], Any], message: str) -> None:
    directory, data = _damage(good, tmp_path, mutate)
    with pytest.raises(tune.TuneError, match=message) as info:
        ExperimentAnalysis(directory)
    assert str(directory / STATE) in str(info.value)
    lenient = ExperimentAnalysis(directory, strict=False)
    assert lenient.state_problem and str(directory / STATE) in lenient.state_problem
    assert cli_main(["ls", str(directory)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("tune-core: warning: corrupt experiment state ") and captured.err.count("\n") == 1
    assert "trial statuses are unknown" in captured.err
    assert "quick_0_x=1" in captured.out
    assert (directory / STATE).read_bytes() == data


def test_a_good_copy_still_resumes(good: Path, tmp_path: Path) -> None:
    """The corpus's base state is fine: the errors above come from the damage alone."""
    directory, data = _damage(good, tmp_path, lambda s: s)
    _resume_in_python(directory)
    assert set(ExperimentAnalysis(directory).trial_statuses.values()) == {"TERMINATED"}
    assert (directory / STATE).read_bytes() != data  # Resumed, so written again: the copy is usable.


def test_console_script_prints_one_line_for_a_damaged_state(good: Path, tmp_path: Path) -> None:
    directory, data = _damage(good, tmp_path, _trial(0, "status", "DONE"))
    out = subprocess.run([sys.executable, "-m", "tune_core", "resume", str(directory)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith("tune-core: error: corrupt experiment state ") and out.stderr.count("\n") == 1
    assert "trials[0].status" in out.stderr and "'DONE'" in out.stderr
    assert (directory / STATE).read_bytes() == data
