"""The plugin as tune-core sees it: registered by name from the installed distribution, conforming
to the hook specs, importing only tune-core's public modules, and still listed without hyperopt."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import tune_hyperopt
import tune_hyperopt.plugin
from tune_hyperopt import HyperOptScheduler, HyperOptSearch

from tune_core.testing import assert_imports_only_public, assert_plugin_conforms

SRC = Path(tune_hyperopt.__file__).parent


def tune_core_command() -> list[str]:
    script = Path(sys.executable).with_name("tune-core")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_hyperopt.plugin)


def test_names_resolve_to_the_classes() -> None:
    (searcher,) = tune_hyperopt.plugin.tune_searchers()
    (scheduler,) = tune_hyperopt.plugin.tune_schedulers()
    assert searcher.name == scheduler.name == "hyperopt"
    assert type(searcher.factory(metric="loss", mode="min")) is HyperOptSearch
    assert type(scheduler.factory(reward_attr="neg_loss")) is HyperOptScheduler


def test_listed_by_the_plugins_command() -> None:
    out = subprocess.run([*tune_core_command(), "plugins", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    (entry,) = [p for p in json.loads(out.stdout)["plugins"] if p["distribution"] == "tune-hyperopt"]
    assert entry["provides"] == {"scheduler": ["hyperopt"], "searcher": ["hyperopt"]} and entry["error"] is None


WITHOUT_HYPEROPT = """
import sys
sys.modules["hyperopt"] = None  # as if installed with --no-deps: `import hyperopt` raises ImportError
from tune_core.cli import main
main(["plugins"])
from tune_core import TuneError
from tune_hyperopt import HyperOptScheduler, HyperOptSearch
for make in (HyperOptSearch, HyperOptScheduler):
    try:
        make()
    except TuneError as exc:
        print("ERROR", exc)
from tune_core.plugins import registry
try:
    registry.build("searcher", "hyperopt")
except TuneError as exc:
    print("BY NAME", str(exc).splitlines()[0])
"""


def test_without_hyperopt_it_is_listed_and_says_what_to_install() -> None:
    out = subprocess.run([sys.executable, "-c", WITHOUT_HYPEROPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if "tune-hyperopt" in line)
    assert "scheduler: hyperopt; searcher: hyperopt" in line
    message = "tune-hyperopt needs the hyperopt library: pip install hyperopt"
    assert out.stdout.count(f"ERROR {message}\n") == 2
    assert f"BY NAME {message}" in out.stdout


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)


def test_hyperopt_is_not_imported_at_module_level() -> None:
    """Only ``library`` imports it, inside a function: listing the plugin must not need it."""
    for path in sorted(SRC.glob("*.py")):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top for a in n.names] + [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] in ("hyperopt", "numpy")], path.name
