"""The examples, run the way a user runs them: as subprocesses from the repository root.

The digits test is the main job end to end (real PyTorch training on the local executor); it needs torch
and skips itself without it, so the plain ``tests`` session runs the rest and the ``examples`` session,
which installs torch, runs all of them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], home: Path, timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python <args>`` in the repo root with HOME at ``home``, so ``~/tune_results`` lands there.

    PYTHONUSERBASE keeps the real user site importable although HOME moved.
    """
    env = {**os.environ, "HOME": str(home), "PYTHONUSERBASE": site.getuserbase()}
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc


def _trial_dirs(experiment_dir: Path) -> list[Path]:
    """The trial directories of one experiment (each holds params.json)."""
    assert experiment_dir.is_dir(), f"no experiment directory {experiment_dir}"
    return sorted(d for d in experiment_dir.iterdir() if (d / "params.json").is_file())


def _results(trial_dir: Path) -> list[dict[str, Any]]:
    """Every result a trial reported, from its result.json (one JSON object per line)."""
    lines = (trial_dir / "result.json").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _check_logged(trial_dirs: list[Path]) -> None:
    for trial_dir in trial_dirs:
        for name in ("params.json", "result.json", "progress.csv"):
            assert (trial_dir / name).is_file(), f"{trial_dir.name} has no {name}"
        assert _results(trial_dir), f"{trial_dir.name} logged no results"


@pytest.mark.slow
def test_tune_digits(local_dir: Path, tmp_path: Path) -> None:
    """The main job tunes a real PyTorch MLP, prints status and best config, and reaches > 80% accuracy."""
    pytest.importorskip("torch")
    proc = _run(["examples/tune_digits.py", "--local-dir", str(local_dir)], tmp_path, timeout=240)
    assert "== Status ==" in proc.stdout
    best_line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Best config:")), None)
    assert best_line is not None, proc.stdout
    best = ast.literal_eval(best_line.split(":", 1)[1].strip())
    assert best["lr"] in (0.01, 0.03, 0.1, 0.3) and best["momentum"] in (0.0, 0.9)

    trials = _trial_dirs(local_dir / "tune_digits")
    assert len(trials) == 8
    _check_logged(trials)
    accuracies = [r["mean_accuracy"] for t in trials for r in _results(t)]
    assert max(accuracies) > 0.8
    assert all("mean_loss" in r for t in trials for r in _results(t))


def test_quickstart(tmp_path: Path) -> None:
    """The seed's quick start runs unchanged but for its import line; every trial reaches the stop value."""
    proc = _run(["examples/quickstart.py"], tmp_path, timeout=120)
    assert "== Status ==" in proc.stdout
    trials = _trial_dirs(tmp_path / "tune_results" / "my_experiment")
    assert len(trials) == 6
    _check_logged(trials)
    assert all(_results(t)[-1]["mean_accuracy"] >= 99 for t in trials)


def test_quickstart_yaml_with_cli(tmp_path: Path) -> None:
    """``tune-core run`` takes the YAML spec and its "module:function" trainable; ``ls`` lists the trials."""
    _run(["-m", "tune_core", "run", "examples/quickstart.yaml"], tmp_path, timeout=120)
    experiment_dir = tmp_path / "tune_results" / "my_experiment"
    trials = _trial_dirs(experiment_dir)
    assert len(trials) == 6
    _check_logged(trials)
    listing = _run(["-m", "tune_core", "ls", str(experiment_dir)], tmp_path, timeout=60)
    assert all(t.name in listing.stdout for t in trials), listing.stdout


def test_pinned_objects(tmp_path: Path) -> None:
    """Trials read the array the driver pinned: each half of uniform [0, 1) noise averages about 0.5."""
    _run(["examples/pinned_objects.py"], tmp_path, timeout=120)
    trials = _trial_dirs(tmp_path / "tune_results" / "pinned_objects")
    assert len(trials) == 2
    _check_logged(trials)
    for trial in trials:
        last = _results(trial)[-1]
        assert last["timesteps_total"] == 500_000
        assert abs(last["mean_accuracy"] - 0.5) < 0.01


@pytest.mark.slow
def test_readme_python_blocks_run_as_written(tmp_path: Path) -> None:
    """The README's Python blocks, run in order in one script (as a reader pastes them), finish and
    produce what the README says: the 6-trial grid, the 8 trials of ``tune.run``, 8 trials under
    ASHA, then 12 proposed by Optuna under ASHA (the ``tune-hyperband`` and ``tune-optuna`` plugins,
    which the ``examples`` session installs)."""
    pytest.importorskip("torch")
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert len(blocks) >= 3, "the README lost its Python blocks"
    script = tmp_path / "readme.py"
    script.write_text("\n\n".join(blocks))
    proc = _run([str(script)], tmp_path, timeout=300, cwd=tmp_path)
    assert "== Status ==" in proc.stdout
    grid = _trial_dirs(tmp_path / "tune_results" / "my_experiment")
    assert len(grid) == 6
    _check_logged(grid)
    assert all(_results(t)[-1]["mean_accuracy"] > 60 for t in grid)  # it learns, whatever the stop
    best = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert set(best) == {"lr", "momentum"}
    assert len(_trial_dirs(tmp_path / "results" / "train_func")) == 8
    asha = _trial_dirs(tmp_path / "tune_results" / "train_func")  # the ASHA run of "Schedulers"
    assert len(asha) == 8
    lengths = sorted(len(_results(t)) for t in asha)
    assert lengths[0] < 32 and set(lengths) <= {4, 8, 16, 32}, lengths
    tpe = _trial_dirs(tmp_path / "tune_results" / "tpe_asha")  # Optuna proposing, ASHA stopping
    assert len(tpe) == 12 and len({json.dumps(json.loads((t / "params.json").read_text())) for t in tpe}) == 12
