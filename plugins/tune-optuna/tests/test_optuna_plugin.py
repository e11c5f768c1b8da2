"""The plugin as tune-core sees it: registered by name from the installed distribution, usable from
``run`` and from a YAML spec, conforming to the hook specs, and saying what to install when the
optuna library is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import tune_optuna
import tune_optuna.plugin
from optuna_trainables import quadratic
from tune_optuna import OptunaSearch

import tune_core as tune
from tune_core.testing import (
    assert_imports_only_public,
    assert_plugin_conforms,
    plugins_command_line,
)

SRC = Path(tune_optuna.__file__).parent


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("tune-core")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]


def test_plugin_module_conforms() -> None:
    assert_plugin_conforms(tune_optuna.plugin)


def test_name_resolves_to_the_class() -> None:
    (spec,) = tune_optuna.plugin.tune_searchers()
    assert spec.name == "optuna" and type(spec.factory(seed=0)) is OptunaSearch


def test_listed_by_the_plugins_command() -> None:
    assert "searcher: optuna" in plugins_command_line("tune-optuna")


def test_by_name_from_run(local_dir: Path) -> None:
    options = {"seed": 0, "sampler": "tpe", "max_concurrent": 1, "sampler_config": {"n_startup_trials": 5}}
    best = []
    for search_alg in ("optuna", OptunaSearch(**options)):  # the same searcher, by name or as an object
        analysis = tune.run(quadratic, config={"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10)},
                            num_samples=15, metric="loss", mode="min", search_alg=search_alg, verbose=0,
                            search_alg_config=options if search_alg == "optuna" else None,
                            local_dir=str(local_dir / str(len(best))))
        assert len(analysis.trial_ids) == 15
        best.append((analysis.best_config, analysis.best_result["loss"]))
    assert best[0] == best[1]


def test_by_name_from_a_yaml_spec(tmp_path: Path) -> None:
    # A YAML spec cannot hold tune-core's distributions: the space is given in Optuna's JSON form.
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
experiments:
  yaml_optuna:
    run: optuna_trainables:quadratic
    num_samples: 12
    local_dir: {tmp_path / "results"}
    config: {{y: -1.0}}
search_alg: optuna
search_alg_config:
  seed: 0
  sampler: random
  space:
    x: {{type: float, low: -10, high: 10}}
metric: loss
mode: min
""")
    out = subprocess.run([*_cli(), "run", str(spec), "-v", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    params = [json.loads(p.read_text()) for p in (tmp_path / "results" / "yaml_optuna").glob("*/params.json")]
    assert len(params) == 12 and all(p["y"] == -1.0 and -10 <= p["x"] <= 10 for p in params)
    assert len({p["x"] for p in params}) == 12


def test_missing_optuna_library(tmp_path: Path) -> None:
    """Installed with --no-deps: listed, and using it is one line saying what to install."""
    fake = tmp_path / "fake" / "optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'optuna'\", name='optuna')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([*_cli(), "plugins"], capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0 and "searcher: optuna" in listed.stdout, listed.stderr
    command = [*_cli(), "run", "--run", "optuna_trainables:quadratic", "--search-alg", "optuna",
               "--metric", "loss", "--mode", "min", "--local-dir", str(tmp_path / "results")]
    used = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert used.returncode != 0
    assert used.stderr.splitlines()[0] == "tune-core: error: tune-optuna needs the optuna library: pip install optuna"
    script = ("import tune_core as tune\n"
              "tune.run(lambda config, reporter: reporter(loss=1), metric='loss', mode='min', search_alg='optuna',"
              f" local_dir={str(tmp_path / 'results')!r}, verbose=0)\n")
    used = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert "tune_core.errors.TuneError: tune-optuna needs the optuna library: pip install optuna\n" in used.stderr


def test_only_public_tune_core_modules_are_imported() -> None:
    assert_imports_only_public(SRC)
