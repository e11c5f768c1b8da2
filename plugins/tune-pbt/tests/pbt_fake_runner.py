"""A ``TrialRunnerView`` built from the public interfaces only, to drive PBT result by result.

Trials are plain objects with the ``TrialView`` attributes PBT reads; ``save_trial`` checkpoints at
once (at the trial's last iteration), ``restart_trial`` records what it was asked.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tune_core.interfaces import PAUSED, PENDING, RUNNING, TERMINATED, TrialRunnerView


class FakeTrial:
    def __init__(self, index: int, config: dict[str, Any], status: str = RUNNING) -> None:
        self.trial_id = f"t{index:07d}"
        self.experiment_tag = f"{index}"
        self.config = dict(config)
        self.status = status
        self.checkpoint: Any = None
        self.logdir: str | None = None
        self.resources = SimpleNamespace(cpu=1)
        self.iteration = 0

    @property
    def name(self) -> str:
        return f"train_{self.experiment_tag}"

    def is_finished(self) -> bool:
        return self.status == TERMINATED


class FakeRunner(TrialRunnerView):
    def __init__(self, trials: list[FakeTrial], free_slots: int = 100) -> None:
        self.trials = trials
        self.free_slots = free_slots
        self.restarts: list[tuple[FakeTrial, FakeTrial, dict[str, Any], str | None]] = []
        self.saved: list[str] = []

    def get_trials(self) -> list[Any]:
        return list(self.trials)

    def trials_with_status(self, *statuses: str) -> list[Any]:
        return [t for t in self.trials if t.status in statuses]

    def has_resources(self, resources: Any) -> bool:
        return self.free_slots > 0

    def save_trial(self, trial: Any) -> bool:
        if trial.status != RUNNING:
            return False
        trial.checkpoint = SimpleNamespace(iteration=trial.iteration, path=f"/ckpt/{trial.trial_id}")
        self.saved.append(trial.trial_id)
        return True

    def pause_trial(self, trial: Any) -> None:
        trial.status = PAUSED

    def restart_trial(self, trial: Any, *, from_trial: Any, config: Any = None, tag: str | None = None) -> None:
        self.restarts.append((trial, from_trial, dict(config or {}), tag))
        trial.checkpoint = from_trial.checkpoint
        if config is not None:
            trial.config = dict(config)
        if tag is not None:
            trial.experiment_tag = tag


def result(trial: FakeTrial, iteration: int, score: float) -> dict[str, Any]:
    trial.iteration = iteration
    return {"training_iteration": iteration, "score": score, "trial_id": trial.trial_id}


__all__ = ["PAUSED", "PENDING", "FakeRunner", "FakeTrial", "result"]
