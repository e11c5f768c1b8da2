"""Registered through the ``tune_core`` entry point: a trainable adapter and every observer hook."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tune_core.plugins import TrainableAdapterSpec, hookimpl
from tune_recorder_example import Recipe


def recipe_trainable(recipe: Recipe) -> Callable[[dict[str, Any], Any], None]:
    steps = recipe.steps

    def recipe_run(config: dict[str, Any], reporter: Any) -> None:
        mode = config["mode"]
        for step in range(1, steps + 1):
            reporter(score=-1 if mode == "poor" else 1)
            marker = Path(config["marker_dir"], f"{mode}.failed")
            if step == 1 and (mode == "broken" or (mode == "flaky" and not marker.exists())):
                marker.write_text("failed once")
                raise RuntimeError(f"{mode} recipe failed")

    return recipe_run


@hookimpl
def tune_trainable_adapters() -> Iterator[TrainableAdapterSpec]:
    yield TrainableAdapterSpec(name="recipe", matches=lambda obj: isinstance(obj, Recipe),
                               adapt=recipe_trainable, description="runs a Recipe")


def _record(hook: str, **fields: Any) -> None:
    path = os.environ.get("TUNE_RECORDER_FILE")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"hook": hook, **fields}) + "\n")


def _trial(trial: Any) -> dict[str, Any]:
    return {"trial": trial.config.get("mode", trial.name), "status": trial.status}


@hookimpl
def tune_on_experiment_start(experiments: Any) -> None:
    _record("tune_on_experiment_start", experiments=[e.name for e in experiments])


@hookimpl
def tune_on_trial_start(trial: Any) -> None:
    _record("tune_on_trial_start", **_trial(trial))


@hookimpl
def tune_on_trial_result(trial: Any, result: dict[str, Any]) -> None:
    _record("tune_on_trial_result", **_trial(trial), iteration=result["training_iteration"])


@hookimpl
def tune_on_trial_complete(trial: Any) -> None:
    _record("tune_on_trial_complete", **_trial(trial))


@hookimpl
def tune_on_trial_error(trial: Any, error: str, will_retry: bool) -> None:
    _record("tune_on_trial_error", **_trial(trial), will_retry=will_retry, error=error.strip().splitlines()[-1])


@hookimpl
def tune_on_experiment_end(trials: Any) -> None:
    _record("tune_on_experiment_end", statuses=[t.status for t in trials])
