"""Real runs by name: the thread executor for the exact ASHA cases, the local executor (worker
processes) end to end, and the ``tune-core run`` command with a YAML spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hyperband_trainables as trainables
import pytest

import tune_core as tune
from tune_core.interfaces import TERMINATED

HERE = Path(__file__).parent


def _lines(trial: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]


def _asha_rows(local_dir: Path, names: list[str]) -> list[Any]:
    return tune.run_experiments(
        {"rows": {"run": trainables.rows, "config": {"name": tune.grid_search(names)},
                  "local_dir": str(local_dir)}},
        scheduler="asha", metric="score", mode="max", executor="thread", executor_config={"num_cpus": 1},
        scheduler_config={"time_attr": "iter", "grace_period": 1, "max_t": 10, "reduction_factor": 2,
                          "brackets": 1}, verbose=0)


@pytest.mark.parametrize(("t3", "stopped_at"), [("t3-at-1", 1), ("t3-at-2", 2)])
def test_asha_exact_cases_in_a_real_run(local_dir: Path, t3: str, stopped_at: int) -> None:
    """t1, t2 run first (one slot) and complete at 10; t3 stops at its first rung result (cutoff 275
    at iter 1, 325 at iter 2), the decision landing exactly there."""
    trials = _asha_rows(local_dir, ["t1", "t2", t3])
    assert [t.status for t in trials] == [TERMINATED] * 3
    t1, t2, stopped = trials
    assert [r["iter"] for r in _lines(t1)] == [*range(10), 10]
    assert [r["iter"] for r in _lines(t2)] == [0, 1, 2, 3, 4, 10]
    assert [r["iter"] for r in _lines(stopped)][-1] == stopped_at
    assert stopped.last_result["score"] == 260 and not stopped.last_result["done"]


def test_asha_by_name_with_run_on_worker_processes(local_dir: Path) -> None:
    qs = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    analysis = tune.run(trainables.climb, config={"q": tune.grid_search(qs)}, metric="score", mode="max",
                        scheduler="asha", scheduler_config={"grace_period": 1, "max_t": 9, "reduction_factor": 3,
                                                            "brackets": 1},
                        local_dir=str(local_dir), executor_config={"num_cpus": 2}, verbose=0)
    assert list(analysis.trial_statuses.values()) == [TERMINATED] * len(qs)
    ends = {}
    for result_file in analysis.experiment_dir.glob("*/result.json"):
        lines = [json.loads(line) for line in result_file.read_text().splitlines()]
        ends[lines[0]["config"]["q"]] = [r["training_iteration"] for r in lines]
    assert sorted(ends) == sorted(qs)
    for q, iterations in ends.items():
        assert iterations == list(range(1, len(iterations) + 1)), q
        assert iterations[-1] in (1, 3, 9), f"q={q} ended at {iterations[-1]}, not at a rung or max_t"
    assert ends[0.9][-1] == 9  # the best is never below a cutoff, and max_t stops it
    assert sum(its[-1] < 9 for its in ends.values()) >= 4


def test_hyperband_by_name_pauses_and_resumes_survivors(local_dir: Path) -> None:
    """max_t=9: bracket 0 runs 5 trials to 9; bracket 1 runs 8 to 3, then its best 3 on to 9 from
    the checkpoints they paused with."""
    qs = [round(0.05 * i, 2) for i in range(1, 14)]
    trials = tune.run_experiments(
        {"hb": {"run": trainables.Climber, "config": {"q": tune.grid_search(qs)}, "local_dir": str(local_dir)}},
        scheduler="hyperband", scheduler_config={"max_t": 9}, metric="score", mode="max",
        executor_config={"num_cpus": 2}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 13
    lines = {t.config["q"]: _lines(t) for t in trials}
    for q in qs[:5]:
        assert [r["training_iteration"] for r in lines[q]] == list(range(1, 10))
    survivors = set(qs[-3:])
    resumed = 0
    for q in qs[5:]:
        iterations = [r["training_iteration"] for r in lines[q]]
        if q in survivors:
            assert iterations == list(range(1, 10)), q
            assert [r["score"] for r in lines[q]] == pytest.approx([q * i for i in range(1, 10)])
            restored = [r["restored_at"] for r in lines[q]]
            assert restored in ([None] * 9, [None] * 3 + [3] * 6), restored
            resumed += restored[-1] == 3
        else:
            assert iterations == [1, 2, 3], q
    # The last of the 8 to reach 3 is decided at once (it goes on if it is among the best); the
    # others paused there, and the best of them resumed from the checkpoint they paused with.
    assert resumed >= 2


def test_cli_run_of_a_yaml_spec_with_asha(tmp_path: Path) -> None:
    (tmp_path / "cli_trainable.py").write_text(
        "def train(config, reporter):\n"
        "    for i in range(1, 101):\n"
        "        reporter(score=config['q'] * i)\n")
    (tmp_path / "spec.yaml").write_text(
        "asha-cli:\n"
        "  run: cli_trainable:train\n"
        "  config:\n"
        "    q: {grid_search: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]}\n"
        f"  local_dir: {tmp_path / 'results'}\n")
    script = Path(sys.executable).with_name("tune-core")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]
    out = subprocess.run(
        [*command, "run", "spec.yaml", "--scheduler", "asha", "--scheduler-config",
         '{"grace_period": 1, "max_t": 9, "reduction_factor": 3, "brackets": 1}',
         "--metric", "score", "--mode", "max", "--executor-config", '{"num_cpus": 2}', "-v", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "6 of 6 trials completed" in out.stdout
    assert "Best config: {\"q\": 0.9}" in out.stdout
    ends = []
    for result in (tmp_path / "results" / "asha-cli").glob("*/result.json"):
        ends.append(json.loads(result.read_text().splitlines()[-1])["training_iteration"])
    assert sorted(ends)[-1] == 9 and all(e in (1, 3, 9) for e in ends) and min(ends) < 9


def test_hyperband_full_band_in_a_real_run(local_dir: Path) -> None:
    """143 trials, max_t=81, on the thread executor: every bracket keeps its best third at each of
    its milestones, whatever order the runner makes, starts and pauses the trials in."""
    trials = tune.run_experiments(
        {"band": {"run": trainables.Climber, "config": {"q": tune.uniform(0, 1)}, "num_samples": 143,
                  "local_dir": str(local_dir)}},
        scheduler="hyperband", metric="score", mode="max", executor="thread",
        executor_config={"num_cpus": 4}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 143
    ends = [t.last_result["training_iteration"] for t in trials]
    brackets = [ends[:5], ends[5:13], ends[13:28], ends[28:62], ends[62:]]
    expected = [{81: 5}, {27: 5, 81: 3}, {9: 10, 36: 3, 81: 2}, {3: 22, 12: 8, 39: 2, 81: 2},
                {1: 54, 4: 18, 13: 6, 40: 2, 81: 1}]
    assert [{end: b.count(end) for end in sorted(set(b))} for b in brackets] == expected
    last = trials[62:]
    winner = max(last, key=lambda t: t.config["q"])
    assert winner.last_result["training_iteration"] == 81  # the best of the last bracket
    assert [r["training_iteration"] for r in _lines(winner)] == list(range(1, 82))
