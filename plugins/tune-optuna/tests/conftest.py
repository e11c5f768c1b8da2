"""Fixtures of the tune-optuna tests. Plugins load strictly, as in tune-core's own suite: a plugin
that fails to load fails the run instead of being skipped with a warning."""

from __future__ import annotations

import warnings

import pytest

pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH



@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    """Optuna's own studies in the tests log a line per trial; keep the output to failures."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
