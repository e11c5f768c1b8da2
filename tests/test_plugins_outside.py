"""Outside plugins installed with pip, exactly as a third party ships them, found in a fresh process.

The distributions under ``tests/data/plugins/`` are built and installed by pip (setuptools backend, no
build isolation, so no network is needed) into a virtual environment layered on the current one: a
``.pth`` file adds the current environment's site directories after the new environment's own, so all
that is installed here (pluggy, tune-core's dependencies, an editable tune-core) is visible, while the
install never leaks into other test runs sharing this interpreter. At the end the distributions are
uninstalled with pip and the environment removed.

- ``tune-example-scheduler 0.3.1``: a working scheduler ``example`` (entry point ``example-scheduler``).
- ``tune-broken-example 0.0.7``: its plugin module fails to import.
- ``tune-contrib-example 1.2.0``: claims the scheduler name ``example`` too.
- ``tune-recorder-example 0.2.0``: adapts a ``Recipe`` object into a trainable and records every
  observer hook; the end-to-end test of the hooks runs with it.
- ``tune-spawn-executor 0.1.0``: an executor (a process per trial, no shared disk), found by name.
- ``tune-plateau 1.0.0`` (``examples/tune-plateau-scheduler``): the scheduler tutorial's complete example
  distribution, run by name and tested with its own tests (which use tune-core's scheduler kit).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "plugins"
DISTS = ("tune-example-scheduler", "tune-broken-example", "tune-contrib-example",
         "tune-recorder-example", "tune-spawn-executor")
#: The example distribution under ``examples/``: its folder, and its distribution name.
TUTORIAL = REPO / "examples" / "tune-plateau-scheduler"
TUTORIAL_DIST = "tune-plateau"
ONLY_EXAMPLE = "broken-example,contrib-example"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class PluginEnv:
    python: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``python *args`` in the plugin environment with ``TUNE_*`` variables from ``env`` only."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("TUNE_")}
        base["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
        )
        return subprocess.run(
            [str(self.python), *args],
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", "--disable-pip-version-check", *args)

    def lookup(self, code: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("-c", "from tune_core.plugins.registry import *\n" + code, **env)


@pytest.fixture(scope="session")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginEnv]:
    assert importlib.util.find_spec("pip") is not None, "these tests install plugins with pip; install it"
    root = tmp_path_factory.mktemp("outside-plugins")
    src = root / "src"
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(DATA, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    shutil.copytree(TUTORIAL, src / TUTORIAL.name, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = PluginEnv(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    purelib = env.run(
        "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    ).stdout.strip()
    outer = [
        *site.getsitepackages(),
        *([site.getusersitepackages()] if site.ENABLE_USER_SITE else []),
    ]
    # addsitedir (not a bare path) so the outer .pth files, e.g. editable installs, are honoured too
    lines = [f"import site; site.addsitedir({d!r})" for d in outer if Path(d).is_dir()]
    (Path(purelib) / "_outer_environment.pth").write_text("\n".join(lines) + "\n")
    paths = [str(src / d) for d in (*DISTS, TUTORIAL.name)]
    installed = env.pip("install", "-q", "--no-deps", "--no-build-isolation", "--no-index", *paths)
    if installed.returncode != 0:
        # this environment cannot build offline (setuptools < 70.1 without wheel, or none at all):
        # let pip fetch the build backend into an isolated build environment, as users' pip does
        installed = env.pip("install", "-q", "--no-deps", *paths)
    assert installed.returncode == 0, installed.stderr
    yield env
    removed = env.pip("uninstall", "-y", *DISTS, TUTORIAL_DIST)
    assert removed.returncode == 0, removed.stderr
    left = env.run(
        "-c",
        "import importlib.metadata as m; print(sorted(e.name for e in m.entry_points(group='tune_core')))",
    )
    assert left.stdout.strip() == "[]", left.stdout
    shutil.rmtree(root, ignore_errors=True)


def test_installed_scheduler_is_found_by_name(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "s = get_scheduler('example', metric='acc', threshold=0.5, grace_period=2)\n"
        "print(type(s).__module__, type(s).__name__)\n"
        "print(s.on_trial_result(None, None, {'acc': 0.1, 'training_iteration': 1}),"
        " s.on_trial_result(None, None, {'acc': 0.1, 'training_iteration': 2}))\n"
        "r = available('scheduler')['example']\n"
        "print(r.source.plugin, r.source.dist, r.source.version, r.source.entry_point)\n",
        TUNE_STRICT_PLUGINS="1",
        TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "tune_example_scheduler.plugin ThresholdScheduler",
        "CONTINUE STOP",
        "example-scheduler tune-example-scheduler 0.3.1 example-scheduler",
    ]
    assert out.stderr == ""


def test_cli_json_lists_it_with_distribution_and_version(plugin_env: PluginEnv) -> None:
    out = plugin_env.run(
        "-m",
        "tune_core",
        "plugins",
        "--json",
        TUNE_STRICT_PLUGINS="1",
        TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE,
    )
    assert out.returncode == 0, out.stderr
    rows = {row["plugin"]: row for row in json.loads(out.stdout)["plugins"]}
    assert rows["example-scheduler"] == {
        "plugin": "example-scheduler",
        "distribution": "tune-example-scheduler",
        "version": "0.3.1",
        "entry_point": "example-scheduler",
        "builtin": False,
        "provides": {"scheduler": ["example"]},
        "observes": [],
        "conflicts": [],
        "error": None,
    }
    assert (
        "broken-example" not in rows and "contrib-example" not in rows
    )  # disabled, not even imported


def test_cli_table_shows_broken_and_conflicting_plugins(plugin_env: PluginEnv) -> None:
    out = plugin_env.run("-m", "tune_core", "plugins")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert rows["broken-example"].split()[:3] == ["broken-example", "tune-broken-example", "0.0.7"]
    assert (
        "SKIPPED: could not load plugin 'broken-example' (tune-broken-example 0.0.7): ModuleNotFoundError"
        in rows["broken-example"]
    )
    assert "[CONFLICT: scheduler example]" in rows["contrib-example"]
    assert "[CONFLICT: scheduler example]" in rows["example-scheduler"]


def test_broken_plugin_is_skipped_with_a_warning(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "print(type(get_scheduler('example')).__name__)", TUNE_DISABLE_PLUGINS="contrib-example"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ThresholdScheduler"
    assert (
        "PluginWarning: could not load plugin 'broken-example' (tune-broken-example 0.0.7): "
        "ModuleNotFoundError: No module named 'tune_core_missing_dependency'; "
        "disable with TUNE_DISABLE_PLUGINS=broken-example"
    ) in out.stderr


def test_broken_plugin_is_fatal_when_strict(plugin_env: PluginEnv) -> None:
    out = plugin_env.run(
        "-m",
        "tune_core",
        "plugins",
        TUNE_STRICT_PLUGINS="1",
        TUNE_DISABLE_PLUGINS="contrib-example",
    )
    assert out.returncode == 1
    assert out.stderr.startswith(
        "tune-core: error: could not load plugin 'broken-example' (tune-broken-example 0.0.7): ModuleNotFoundError"
    )


def test_two_distributions_claiming_one_name(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "get_scheduler('example')", TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS="broken-example"
    )
    assert out.returncode != 0
    assert (
        "PluginError: scheduler 'example' is provided by tune-contrib-example 1.2.0 and tune-example-scheduler 0.3.1; "
        "uninstall one, or disable one with TUNE_DISABLE_PLUGINS=contrib-example or example-scheduler"
    ) in out.stderr


def test_unknown_name_lists_the_installed_ones(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "get_scheduler('exampel')", TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE
    )
    assert (
        "TuneError: unknown scheduler 'exampel'; available: example, fifo, median-stopping, plateau "
        "(did you mean 'example'?)"
    ) in out.stderr


def test_no_plugins_hides_them(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "get_scheduler('example')", TUNE_STRICT_PLUGINS="1", TUNE_NO_PLUGINS="1"
    )
    assert "unknown scheduler 'example'; available: fifo, median-stopping\n" in out.stderr
    out = plugin_env.run("-m", "tune_core", "plugins", "--json", "--no-plugins")
    names = [row["plugin"] for row in json.loads(out.stdout)["plugins"]]
    assert names and all(n.startswith("tune_core.builtin.") for n in names)


#: A run through the outside plugins: ``run`` is a ``Recipe`` the recorder plugin adapts; one trial
#: fails once and is retried, one fails for good, one is stopped by the outside scheduler.
RECORDED_RUN = """
import json, sys
import tune_core as tune
from tune_recorder_example import Recipe

trials = tune.run_experiments(
    {"recorded": {"run": Recipe(steps=3), "max_failures": 1, "local_dir": sys.argv[1],
                  "config": {"mode": tune.grid_search(["ok", "flaky", "broken", "poor"]),
                             "marker_dir": sys.argv[1]}}},
    scheduler="example", scheduler_config={"metric": "score", "mode": "max", "threshold": 0,
                                           "grace_period": 2},
    executor=sys.argv[2], executor_config={"num_cpus": 1}, verbose=0, raise_on_failed_trial=False)
print(json.dumps([[t.config["mode"], t.status, t.num_failures] for t in trials]))
"""


def _start(mode: str) -> list[dict[str, object]]:
    return [{"hook": "tune_on_trial_start", "trial": mode, "status": "RUNNING"}]


def _results(mode: str, *iterations: int) -> list[dict[str, object]]:
    return [{"hook": "tune_on_trial_result", "trial": mode, "status": "RUNNING", "iteration": i}
            for i in iterations]


def _error(mode: str, will_retry: bool) -> list[dict[str, object]]:
    return [{"hook": "tune_on_trial_error", "trial": mode, "status": "RUNNING", "will_retry": will_retry,
             "error": f"RuntimeError: {mode} recipe failed"}]


def _complete(mode: str) -> list[dict[str, object]]:
    return [{"hook": "tune_on_trial_complete", "trial": mode, "status": "TERMINATED"}]


EXPECTED_EVENTS = [
    {"hook": "tune_on_experiment_start", "experiments": ["recorded"]},
    *_start("ok"), *_results("ok", 1, 2, 3), *_complete("ok"),
    *_start("flaky"), *_results("flaky", 1), *_error("flaky", True),
    *_start("flaky"), *_results("flaky", 1, 2, 3), *_complete("flaky"),
    *_start("broken"), *_results("broken", 1), *_error("broken", True),
    *_start("broken"), *_results("broken", 1), *_error("broken", False),
    *_start("poor"), *_results("poor", 1, 2), *_complete("poor"),
    {"hook": "tune_on_experiment_end", "statuses": ["TERMINATED", "TERMINATED", "ERROR", "TERMINATED"]},
]


@pytest.mark.parametrize("executor", ["local", "spawn"])
def test_observer_hooks_fire_in_order_over_a_whole_run(plugin_env: PluginEnv, tmp_path: Path,
                                                       executor: str) -> None:
    """Every observer hook, fired by a real run of outside plugins found through their entry points:
    a retried failure, a trial that ends in ERROR, a trial stopped by the scheduler, and a ``run``
    object adapted by a plugin. The exact sequence of events is the contract of docs/plugins/hooks.md."""
    record = tmp_path / "events.jsonl"
    out = plugin_env.run("-c", RECORDED_RUN, str(tmp_path / "results"), executor,
                         TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE,
                         TUNE_RECORDER_FILE=str(record))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [["ok", "TERMINATED", 0], ["flaky", "TERMINATED", 1],
                                      ["broken", "ERROR", 2], ["poor", "TERMINATED", 0]]
    events = [json.loads(line) for line in record.read_text().splitlines()]
    assert events == EXPECTED_EVENTS
    trial_dirs = sorted(p.name for p in (tmp_path / "results" / "recorded").iterdir() if p.is_dir())
    # Named after the object the user passed, not after what the adapter made of it.
    assert trial_dirs == ["Recipe_0_mode=ok", "Recipe_1_mode=flaky", "Recipe_2_mode=broken", "Recipe_3_mode=poor"]


def test_installed_executor_is_found_by_name(plugin_env: PluginEnv) -> None:
    out = plugin_env.lookup(
        "e = get_executor('spawn', num_cpus=3)\n"
        "print(type(e).__name__, e.total_resources().cpu)\n"
        "r = available('executor')['spawn']\n"
        "print(r.source.plugin, r.source.dist, r.source.version)\n",
        TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["SpawnExecutor 3.0", "spawn-executor tune-spawn-executor 0.1.0"]


def test_outside_plugins_own_tests_pass_where_installed(plugin_env: PluginEnv, tmp_path: Path) -> None:
    """The spawn executor's own tests (the executor contract) run against the installed distribution,
    from a copy outside this repository, as its author would run them."""
    tests = shutil.copytree(DATA / "tune-spawn-executor" / "tests", tmp_path / "tests")
    out = plugin_env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests),
                         TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "skipped" not in out.stdout


#: The tutorial's example run: ``plateau`` by name, from a script as a user writes it.
PLATEAU_RUN = """
import json, sys
import tune_core as tune

def curve(config):
    for step in range(1, 11):
        tune.report(score=min(step, config["rise"]))

analysis = tune.run(curve, config={"rise": tune.grid_search([2, 10])}, metric="score", mode="max",
                    scheduler="plateau", scheduler_config={"patience": 2}, local_dir=sys.argv[1], verbose=0)
print(json.dumps({r["config"]["rise"]: r["training_iteration"] for r in analysis.results.values()}))
"""


def test_the_tutorial_distribution_runs_by_name(plugin_env: PluginEnv, tmp_path: Path) -> None:
    out = plugin_env.run("-c", PLATEAU_RUN, str(tmp_path), TUNE_STRICT_PLUGINS="1",
                         TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"2": 4, "10": 10}
    listed = plugin_env.run("-m", "tune_core", "plugins", "--json", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE)
    rows = {row["plugin"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["plateau"]["distribution"] == "tune-plateau" and rows["plateau"]["provides"] == {
        "scheduler": ["plateau"]}


def test_the_tutorial_distributions_own_tests_pass_where_installed(plugin_env: PluginEnv, tmp_path: Path) -> None:
    tests = shutil.copytree(TUTORIAL / "tests", tmp_path / "tests")
    out = plugin_env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests),
                         TUNE_STRICT_PLUGINS="1", TUNE_DISABLE_PLUGINS=ONLY_EXAMPLE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "skipped" not in out.stdout
