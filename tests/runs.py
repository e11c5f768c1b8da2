"""Running one experiment from a test and reading its results back, shared by the end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tune_core as tune

CPUS2 = {"num_cpus": 2}


def run_exp(local_dir: Path, spec: dict[str, Any], **kwargs: Any) -> list[Any]:
    """Run ``spec`` as experiment ``exp`` under ``local_dir``, silently, on 2 CPUs unless told."""
    spec = {"local_dir": str(local_dir), **spec}
    kwargs.setdefault("executor_config", CPUS2)
    return tune.run_experiments({"exp": spec}, verbose=0, **kwargs)


def result_lines(trial: Any) -> list[dict[str, Any]]:
    """Every result of ``trial`` as its ``result.json`` holds it."""
    return [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]
