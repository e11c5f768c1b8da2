"""Running one experiment for a test and reading back its trials in the order they were suggested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tune_core as tune


def run_trials(local_dir: Path, trainable: Any, config: dict[str, Any], num_samples: int, *,
               name: str = "exp", num_cpus: int = 1, **kwargs: Any) -> list[Any]:
    """``run_experiments`` of one experiment, quiet, without raising on failed trials; its trials
    sorted by the index in their tag (the order the searcher suggested them)."""
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("raise_on_failed_trial", False)
    trials = tune.run_experiments(
        {name: {"run": trainable, "config": config, "num_samples": num_samples, "local_dir": str(local_dir)}},
        executor_config={"num_cpus": num_cpus}, **kwargs)
    return sorted(trials, key=lambda trial: int(trial.experiment_tag.split("_")[0]))
