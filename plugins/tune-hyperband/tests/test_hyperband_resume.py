"""Experiment resume: a run that stopped half way (its scheduler raised) goes on with ``resume=True``,
and the scheduler's saved state (brackets, rungs) carries over: the outcome is that of a run that
never stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hyperband_trainables as trainables
import pytest
from tune_hyperband import AsyncHyperBandScheduler, HyperBandScheduler

import tune_core as tune
from tune_core.interfaces import TERMINATED, TrialRunnerView, TrialScheduler, TrialView


def crashing(cls: type[TrialScheduler], after: int, **options: Any) -> TrialScheduler:
    """``cls(**options)`` raising in ``on_trial_result`` at its ``after``-th result, before deciding."""

    class Crashing(cls):  # type: ignore[valid-type,misc]
        def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
            self.seen = getattr(self, "seen", 0) + 1
            if self.seen == after:
                raise RuntimeError("planned stop")
            return super().on_trial_result(runner, trial, result)

    return Crashing(**options)


def _run(local_dir: Path, scheduler: Any, qs: list[float], cpus: int, **kwargs: Any) -> list[Any]:
    return tune.run_experiments(
        {"resume": {"run": trainables.Climber, "config": {"q": tune.grid_search(qs)}, "local_dir": str(local_dir)}},
        scheduler=scheduler, metric="score", mode="max", executor="thread",
        executor_config={"num_cpus": cpus}, verbose=0, **kwargs)


def _iterations(trial: Any) -> list[int]:
    lines = Path(trial.logdir, "result.json").read_text().splitlines()
    return [json.loads(line)["training_iteration"] for line in lines]


@pytest.mark.parametrize("after", [20, 45])
def test_hyperband_resume_keeps_its_brackets(local_dir: Path, after: int) -> None:
    qs = [round(0.05 * i, 2) for i in range(1, 14)]
    with pytest.raises(RuntimeError, match="planned stop"):
        _run(local_dir, crashing(HyperBandScheduler, after, max_t=9), qs, cpus=2)
    state = json.loads((local_dir / "resume" / "experiment_state.json").read_text())
    assert any(t["status"] != TERMINATED for t in state["trials"])
    trials = _run(local_dir, "hyperband", qs, cpus=2, scheduler_config={"max_t": 9}, resume=True)
    assert [t.status for t in trials] == [TERMINATED] * 13
    runs = {t.config["q"]: _iterations(t) for t in trials}
    # As without the stop: bracket 0 (the first 5) runs to 9; bracket 1 keeps its best 3 of 8 after 3.
    assert {q: its[-1] for q, its in runs.items()} == {q: 9 if q in qs[:5] or q in qs[-3:] else 3 for q in qs}
    for q, its in runs.items():
        assert its == list(range(1, its[-1] + 1)), f"q={q}: each iteration logged once"


def test_asha_resume_keeps_its_rungs(local_dir: Path) -> None:
    """One slot, the best trial first: every later trial is below the cutoff at the first rung. A
    scheduler that forgot its rungs on resume would let the next trial through."""
    qs = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    options = {"grace_period": 1, "max_t": 9, "reduction_factor": 3, "brackets": 1}
    with pytest.raises(RuntimeError, match="planned stop"):
        _run(local_dir, crashing(AsyncHyperBandScheduler, 11, **options), qs, cpus=1)
    trials = _run(local_dir, "asha", qs, cpus=1, scheduler_config=options, resume=True)
    assert [t.status for t in trials] == [TERMINATED] * len(qs)
    assert [_iterations(t)[-1] for t in trials] == [9, 1, 1, 1, 1, 1]
