"""``ExperimentAnalysis.parallel_coordinates`` / ``learning_curves`` without the tune-report plugin
(the core suite runs with no plugin installed): a clear error saying what to install, and the
arguments checked before that. The figures themselves are tested in plugins/tune-report."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core import ExperimentAnalysis, TuneError
from tune_core.testing import ThreadExecutor

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tune_report") is not None,
                                reason="tune-report is installed here: its own tests cover the figures")


def _train(config: dict[str, Any], reporter: Any) -> None:
    for step in range(3):
        reporter(mean_accuracy=config["x"] * step)


@pytest.fixture
def analysis(tmp_path: Path) -> ExperimentAnalysis:
    tune.run_experiments({"exp": {"run": _train, "local_dir": str(tmp_path),
                                  "config": {"x": tune.grid_search([1, 2])}}},
                         executor=ThreadExecutor(2), verbose=0)
    return ExperimentAnalysis(tmp_path / "exp", default_metric="mean_accuracy", default_mode="max")


@pytest.mark.parametrize("method", ["parallel_coordinates", "learning_curves"])
def test_without_the_plugin_the_error_says_what_to_install(analysis: ExperimentAnalysis, method: str) -> None:
    with pytest.raises(TuneError, match=r"tune-report plugin .*pip install tune-report .*pip install plugins/tune-report"):
        getattr(analysis, method)()


def test_an_unknown_metric_or_mode_is_named_first(analysis: ExperimentAnalysis) -> None:
    with pytest.raises(TuneError, match=r"metric 'acc'; metrics present: mean_accuracy"):
        analysis.parallel_coordinates("acc")
    with pytest.raises(TuneError, match=r"mode must be 'min' or 'max', got 'up'"):
        analysis.learning_curves("mean_accuracy", "up")
