"""The plugin as tune-core sees it: registered by name, conforming, public imports only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tune_ray
import tune_ray.plugin

from tune_core.testing import assert_imports_only_public, assert_plugin_conforms

SRC = Path(tune_ray.__file__).parent


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_ray.plugin, call_factories=False)


def test_listed_by_the_plugins_command() -> None:
    script = Path(sys.executable).with_name("tune-core")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]
    out = subprocess.run([*command, "plugins"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if "tune-ray" in line)
    assert "executor: ray" in line


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)
