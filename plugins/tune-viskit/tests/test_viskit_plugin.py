"""The plugin's registration: hook conformance, public imports only, the logger off unless named."""

from __future__ import annotations

from pathlib import Path

import tune_viskit
from tune_viskit import plugin

from tune_core.testing import assert_imports_only_public, assert_plugin_conforms


def test_plugin_conforms() -> None:
    assert_plugin_conforms(plugin)


def test_imports_only_public_modules() -> None:
    assert_imports_only_public(Path(tune_viskit.__file__).parent)


def test_logger_is_off_unless_named() -> None:
    (spec,) = plugin.tune_loggers()
    assert spec.name == "viskit" and spec.default_on is False
    (command,) = plugin.tune_commands()
    assert command.name == "viskit" and callable(command.add_arguments) and callable(command.run)


def test_viskit_is_installed() -> None:
    """The loader and command tests skip without VisKit; this one says why the session needs it."""
    import importlib.util

    assert importlib.util.find_spec("viskit") is not None, (
        "VisKit is not installed in this environment: run python -m tune_viskit.install "
        "([tool.tune-core] test-setup in plugins/tune-viskit/pyproject.toml)")
