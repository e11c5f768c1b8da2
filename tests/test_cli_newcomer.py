"""What a new user meets, run as a user runs it: the console script from another directory with a fresh
HOME, Ctrl-C, a re-run of the same experiment name, ``ls`` of the wrong directory, a closed pipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_fault_tolerance import JobRun, _state

import tune_core as tune
from tune_core.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_SCRIPT = Path(sys.executable).parent / "tune-core"

#: A user's training module, in the directory they run ``tune-core run`` from. The trial with x=2
#: presses Ctrl-C for the user (SIGINT to the driver) the first time, and runs on until stopped.
NEWCOMER_MODULE = '''
import os
import signal
import time


def train(config, reporter):
    flag = os.path.join(os.path.dirname(os.path.abspath(__file__)), "interrupted.flag")
    first_time = not os.path.exists(flag)
    for i in range(1, 4):
        if config["x"] == 2 and first_time and i == 2:
            open(flag, "w").close()
            os.kill(os.getppid(), signal.SIGINT)
            while True:
                time.sleep(0.02)
                reporter(score=i)
        reporter(score=config["x"] * i)
'''


def _user_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return dict(env, HOME=str(home))


def _cli(args: list[Any], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_console_script_interrupt_then_resume_from_another_directory(tmp_path: Path) -> None:
    project, elsewhere, results = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "results"
    project.mkdir()
    elsewhere.mkdir()
    (project / "newcomer_train.py").write_text(NEWCOMER_MODULE)
    env = _user_env(tmp_path)
    one_cpu = ["--executor-config", '{"num_cpus": 1}', "-v", "0"]

    run = _cli([CONSOLE_SCRIPT, "run", "--run", "newcomer_train:train", "--config", '{"x": {"grid_search": [1, 2]}}',
                "--local-dir", results, *one_cpu], project, env)
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if "interrupted" in line] == [
        f"tune-core: interrupted: 1 of 2 trials finished; resume with: tune-core resume {results / 'train'}"]
    assert "trials completed" not in run.stdout, "an interrupted run looks like success"
    trial_dirs = sorted(p.name for p in (results / "train").iterdir() if p.is_dir())
    assert trial_dirs == ["train_0_x=1", "train_1_x=2"], "trial names carry the module path"
    state = _state(results / "train")
    assert state["import_paths"] == [str(project.resolve())]
    assert [t["status"] for t in state["trials"]] == ["TERMINATED", "RUNNING"]

    resumed = _cli([CONSOLE_SCRIPT, "resume", results / "train", *one_cpu], elsewhere, env)
    assert resumed.returncode == 0, resumed.stderr
    assert "2 of 2 trials completed" in resumed.stdout
    lines = [json.loads(x) for x in (results / "train" / "train_1_x=2" / "result.json").read_text().splitlines()]
    assert [r["score"] for r in lines][-3:] == [2, 4, 6]
    # Resumed again, on another executor (named as a new cluster's would be): finished, nothing runs.
    again = _cli([sys.executable, "-m", "tune_core", "resume", results / "train", "--executor", "thread", *one_cpu],
                 elsewhere, env)
    assert (again.returncode, again.stdout) == (resumed.returncode, resumed.stdout), again.stderr


def test_rerun_keeps_the_unfinished_state_and_ls_shows_the_latest_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs, local = JobRun(tmp_path), tmp_path / "results"
    experiment = local / "exp"
    assert jobs(local).returncode == -signal.SIGINT
    unfinished = (experiment / "experiment_state.json").read_bytes()

    rerun = jobs(local)  # The same script again, without resume=True.
    assert rerun.returncode == 0, rerun.stderr
    (kept,) = experiment.glob("experiment_state-*.json")
    assert kept.read_bytes() == unfinished, "the earlier state was not kept as it was"
    notes = [line for line in rerun.stderr.splitlines() if line.startswith("tune-core:")]
    assert notes == [f"tune-core: the earlier run in {experiment} was unfinished (2 of 3 trials finished); its "
                     f"state is kept as {kept.name}; resume it with: tune-core resume {kept}"]

    assert cli_main(["ls", str(experiment), "--columns", "name"]) == 0
    out, err = capsys.readouterr()
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[1] for r in rows] == ["TERMINATED"] * 3
    assert err == "tune-core: 3 trial directories of earlier runs are not shown; --all lists them\n"
    assert cli_main(["ls", str(experiment), "--all", "--columns", "name"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert sorted(r[1] for r in rows) == ["RUNNING"] + ["TERMINATED"] * 5, "earlier runs' statuses are known"

    out = _cli([sys.executable, "-m", "tune_core", "resume", kept, "-v", "0"], tmp_path,
               dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert "3 of 3 trials completed" in out.stdout
    assert "the state of the latest run in" in out.stderr
    assert jobs.launches() == ["a", "b", "c", "a", "b", "c", "c"]
    assert [t["status"] for t in _state(experiment)["trials"]] == ["TERMINATED"] * 3


def quick(config: dict[str, Any], reporter: Any) -> None:
    reporter(score=config["x"], done=True)


def test_rerun_of_a_finished_experiment_says_it_adds_trial_directories(
        local_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"e": {"run": quick, "config": {"x": tune.grid_search([1, 2])}, "local_dir": str(local_dir)}}
    tune.run_experiments(spec, executor="thread", verbose=1)
    assert "earlier runs" not in capsys.readouterr().err
    tune.run_experiments(spec, executor="thread", verbose=1)
    notes = [line for line in capsys.readouterr().err.splitlines() if "earlier runs" in line]
    assert notes == [f"tune-core: {local_dir / 'e'} holds 2 trial directories of earlier runs; this run adds its "
                     f"own beside them (`tune-core ls {local_dir / 'e'}` shows the latest run)"]
    assert len(list((local_dir / "e").glob("quick_*"))) == 4
    assert len(list((local_dir / "e").glob("experiment_state-*.json"))) == 1


def test_ls_of_a_directory_that_is_no_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("hi")
    (tmp_path / "stuff" / "sub").mkdir()
    for directory, why in ((tmp_path / "stuff", "is not an experiment directory"),
                           (tmp_path / "missing", "does not exist")):
        assert cli_main(["ls", str(directory)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tune-core: error: ") and str(directory) in err and err.count("\n") == 1, err
        assert why in err
    started = tmp_path / "started"
    started.mkdir()
    (started / "experiment_state.json").write_text(json.dumps({"version": 1, "trials": []}))
    assert cli_main(["ls", str(started)]) == 0
    assert "no trials in" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["plugins", "--json"], ["plugins"], ["--help"]])
def test_a_closed_pipe_is_no_traceback(tmp_path: Path, argv: list[str]) -> None:
    """``tune-core plugins --json | head -1``: the reader is gone before the command writes."""
    reader = subprocess.Popen([str(CONSOLE_SCRIPT), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=tmp_path, env=_user_env(tmp_path))
    assert reader.stdout is not None
    reader.stdout.close()
    err = reader.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert reader.returncode in (0, 141)


def test_shell_pipeline_into_head(tmp_path: Path) -> None:
    out = subprocess.run(f"{CONSOLE_SCRIPT} plugins --json | head -1", shell=True, capture_output=True, text=True,
                         cwd=tmp_path, env=_user_env(tmp_path), timeout=60)
    assert out.stdout == "{\n" and out.stderr == ""


def test_ls_into_a_closed_pipe(tmp_path: Path) -> None:
    results = tmp_path / "results"
    tune.run_experiments({"e": {"run": quick, "config": {"x": tune.grid_search([1, 2])}, "local_dir": str(results)}},
                         executor="thread", verbose=0)
    reader = subprocess.Popen([str(CONSOLE_SCRIPT), "ls", str(results / "e")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=tmp_path, env=_user_env(tmp_path))
    assert reader.stdout is not None
    reader.stdout.close()
    err = reader.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err, err
    assert reader.returncode in (0, 141)



#: ``tune-core run`` mistakes: each is one line on stderr naming the culprit, exit status 1 (2 for
#: argparse's own usage errors), no traceback, and no experiment directory written.
CLI_MISTAKES = [
    (["run", "missing.yaml"], 1, "missing.yaml"),
    (["run", "bad_key.yaml"], 1, "'stopp'"),
    (["run", "--run", "nosuchmodule:train"], 1, "nosuchmodule"),
    (["run", "--run", "mytrain:trian"], 1, "trian"),
    (["run", "--run", "mytrain:train", "--config", "{x: 1}"], 2, "--config"),
    (["run", "--run", "mytrain:train", "--num-samples", "many"], 2, "--num-samples"),
    (["run", "--run", "mytrain:train", "--scheduler", "hyperbandd"], 1, "hyperbandd"),
    (["run", "--run", "mytrain:train", "--resources", '{"cpus": 1}'], 1, "did you mean 'cpu'"),
]


@pytest.mark.parametrize(("argv", "status", "named"), CLI_MISTAKES)
def test_run_mistakes_are_one_line(tmp_path: Path, argv: list[str], status: int, named: str) -> None:
    (tmp_path / "mytrain.py").write_text("def train(config, reporter):\n    reporter(score=config.get('x', 1) / 3)\n")
    (tmp_path / "bad_key.yaml").write_text("e:\n  run: mytrain:train\n  stopp: {training_iteration: 1}\n")
    out = _cli([CONSOLE_SCRIPT, *argv, "--local-dir", tmp_path / "results"], tmp_path, _user_env(tmp_path))
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr and named in out.stderr, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("tune-core: error:") or last.startswith("tune-core run: error:"), out.stderr
    assert not (tmp_path / "results").exists()


def test_run_prints_the_best_trial_rounded(tmp_path: Path) -> None:
    (tmp_path / "mytrain.py").write_text("def train(config, reporter):\n    reporter(score=config['x'] / 3)\n")
    out = _cli([CONSOLE_SCRIPT, "run", "--run", "mytrain:train", "--config", '{"x": {"grid_search": [1, 2]}}',
                "--metric", "score", "--local-dir", tmp_path / "results", "-v", "0"], tmp_path, _user_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "Best trial: train_1_x=2 (score=0.666667)" in out.stdout, out.stdout
    assert "2 of 2 trials completed" in out.stdout


def test_a_spec_file_chooses_the_scheduler_and_a_flag_wins(tmp_path: Path) -> None:
    (tmp_path / "mytrain.py").write_text(
        "def train(config, reporter):\n    for i in range(6):\n        reporter(score=config['x'] * i)\n")
    (tmp_path / "run.yaml").write_text(
        "scheduler: median-stopping\nscheduler_config: {time_attr: training_iteration, grace_period: 1, min_samples_required: 1}\n"
        "metric: score\nmode: max\nexecutor_config: {num_cpus: 1}\n"
        "experiments:\n  e:\n    run: mytrain:train\n    config: {x: {grid_search: [3, 2, 1]}}\n")
    env = _user_env(tmp_path)
    out = _cli([CONSOLE_SCRIPT, "run", "run.yaml", "--local-dir", tmp_path / "a", "-v", "0"], tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert "Best trial: train_0_x=3 (score=15)" in out.stdout, out.stdout
    lengths = sorted(len(Path(d, "result.json").read_text().splitlines()) for d in (tmp_path / "a" / "e").glob("train_*"))
    assert lengths[0] < 6, f"median stopping ended no trial early: {lengths}"
    out = _cli([CONSOLE_SCRIPT, "run", "run.yaml", "--scheduler", "fifo", "--local-dir", tmp_path / "b", "-v", "0"],
               tmp_path, env)
    assert out.returncode == 0, out.stderr
    lengths = sorted(len(Path(d, "result.json").read_text().splitlines()) for d in (tmp_path / "b" / "e").glob("train_*"))
    assert lengths == [6, 6, 6]
