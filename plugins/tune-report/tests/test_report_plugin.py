"""The plugin as tune-core sees it: the ``report`` command from the installed distribution, a light
plugin module, conforming to the hook specs and importing only public tune-core modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tune_report
import tune_report.cli
import tune_report.plugin

from tune_core.plugins import CommandSpec
from tune_core.testing import assert_imports_only_public, assert_plugin_conforms

SRC = Path(tune_report.__file__).parent
TESTS = Path(__file__).parent


def tune_core_cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("tune-core")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_report.plugin)


def test_the_command_record() -> None:
    (spec,) = tune_report.plugin.tune_commands()
    assert isinstance(spec, CommandSpec) and spec.name == "report"
    assert spec.run.resolve() is tune_report.cli.run


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)
    assert_imports_only_public(TESTS)


def test_the_plugin_module_does_not_import_plotly() -> None:
    code = "import sys, tune_report.plugin, tune_report; print('plotly' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_listed_in_help_and_plugins() -> None:
    out = tune_core_cli("--help")
    assert out.returncode == 0 and "report" in out.stdout, out.stderr
    line = next(line for line in tune_core_cli("plugins").stdout.splitlines() if "tune-report" in line)
    assert "report" in line


def test_the_command_writes_the_report(small_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "r.html"
    out = tune_core_cli("report", str(small_dir), "-o", str(target), "--metric", "mean_loss", "--top", "2")
    assert out.returncode == 0, out.stderr
    assert f"wrote {target}" in out.stdout and "8 trials, metric mean_loss (min)" in out.stdout
    assert "Best 2 trials" in target.read_text()


def test_the_command_fails_in_one_line(small_dir: Path, tmp_path: Path) -> None:
    out = tune_core_cli("report", str(small_dir), "--metric", "nope", "-o", str(tmp_path / "r.html"))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"tune-core: error: unknown metric 'nope' in {str(small_dir)!r}; the trials reported: "
        "mean_accuracy, mean_loss, neg_mean_loss"]
    out = tune_core_cli("report", str(tmp_path / "absent"))
    assert out.returncode == 1 and "does not exist" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r.html").exists()
