"""The plugin as tune-core sees it: registered by name from the installed distribution, conforming
to the hook specs, and importing only tune-core's public modules."""

from __future__ import annotations

from pathlib import Path

import tune_hyperband
import tune_hyperband.plugin
from tune_hyperband import ASHAScheduler, AsyncHyperBandScheduler, HyperBandScheduler

from tune_core.testing import (
    assert_imports_only_public,
    assert_plugin_conforms,
    plugins_command_line,
)

SRC = Path(tune_hyperband.__file__).parent


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_hyperband.plugin)


def test_names_resolve_to_the_classes() -> None:
    specs = {spec.name: spec for spec in tune_hyperband.plugin.tune_schedulers()}
    assert set(specs) == {"hyperband", "asha"}
    assert type(specs["hyperband"].factory(max_t=9)) is HyperBandScheduler
    assert type(specs["asha"].factory()) is AsyncHyperBandScheduler
    assert ASHAScheduler is AsyncHyperBandScheduler


def test_listed_by_the_plugins_command() -> None:
    line = plugins_command_line("tune-hyperband")
    assert "scheduler: hyperband, asha" in line


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)
