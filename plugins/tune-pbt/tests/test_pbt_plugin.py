"""The distribution as tune-core sees it: the hook module conforms, and ``pbt`` is found by name."""

from __future__ import annotations

import tune_pbt
from tune_pbt import plugin

from tune_core.testing import assert_plugin_conforms, plugins_command_line


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(plugin)


def test_listed_by_tune_core_plugins() -> None:
    line = plugins_command_line("tune-pbt")
    assert line.split()[:1] == ["pbt"] and tune_pbt.__version__ in line and "scheduler" in line
