"""The plugin as tune-core sees it: registered by name, conforming, public imports only."""

from __future__ import annotations

from pathlib import Path

import tune_ray
import tune_ray.plugin

from tune_core.testing import (
    assert_imports_only_public,
    assert_plugin_conforms,
    plugins_command_line,
)

SRC = Path(tune_ray.__file__).parent


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_ray.plugin, call_factories=False)


def test_listed_by_the_plugins_command() -> None:
    line = plugins_command_line("tune-ray")
    assert "executor: ray" in line


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)
