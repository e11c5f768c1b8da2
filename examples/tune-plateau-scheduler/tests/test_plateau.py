"""tune-plateau's own tests, as its author runs them after `pip install .[test]`: the rule on a real
run (trials on threads), the plugin found by name, bad options, and tune-core's scheduler kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tune_plateau.plugin
from tune_plateau import PlateauStopper

import tune_core
from tune_core.testing import assert_plugin_conforms, assert_scheduler_conforms


def curve(config: dict[str, Any]) -> None:
    """Improves for ``rise`` steps, then stays flat."""
    for step in range(1, 11):
        tune_core.report(score=min(step, config["rise"]))


def _run(tmp_path: Path, scheduler: Any, **kwargs: Any) -> dict[int, int]:
    trials = tune_core.run_experiments(
        {"flat": {"run": curve, "config": {"rise": tune_core.grid_search([2, 5, 10])}, "local_dir": str(tmp_path)}},
        scheduler=scheduler, metric="score", mode="max", executor="thread", verbose=0, **kwargs)
    return {t.config["rise"]: t.last_result["training_iteration"] for t in trials}


def test_a_trial_is_stopped_after_patience_results_without_improvement(tmp_path: Path) -> None:
    assert _run(tmp_path, PlateauStopper(patience=2)) == {2: 4, 5: 7, 10: 10}


def test_found_by_name_with_its_options(register_plugin: Any, tmp_path: Path) -> None:
    register_plugin(tune_plateau.plugin)
    assert _run(tmp_path, "plateau", scheduler_config={"patience": 1}) == {2: 3, 5: 6, 10: 10}


def test_the_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_plateau.plugin)


@pytest.mark.parametrize(("option", "value", "shown"), [
    ("patience", 0, "`patience` must be an integer >= 1, got 0 (int)"),
    ("min_delta", "small", "`min_delta` must be a number >= 0, got 'small' (str)"),
    ("mode", "maximum", "`mode` must be one of None, 'min', 'max', got 'maximum'"),
])
def test_a_bad_option_names_itself(option: str, value: Any, shown: str) -> None:
    with pytest.raises(tune_core.TuneError, match="scheduler 'plateau'") as caught:
        PlateauStopper(**{option: value})
    assert shown in str(caught.value)


def test_passes_the_scheduler_kit() -> None:
    assert_scheduler_conforms(lambda: PlateauStopper(patience=2), metric="score", mode="max")
