"""The distribution as tune-core sees it: the hook module conforms, and ``pbt`` is found by name."""

from __future__ import annotations

import subprocess
import sys

import tune_pbt
from tune_pbt import plugin

from tune_core.testing import assert_plugin_conforms


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(plugin)


def test_listed_by_tune_core_plugins() -> None:
    out = subprocess.run([sys.executable, "-m", "tune_core", "plugins"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.split()[:1] == ["pbt"])
    assert "tune-pbt" in line and tune_pbt.__version__ in line and "scheduler" in line
