"""Nox sessions for tune-core: what CI runs (``python3 -m nox``) and what a developer runs by name.

CI runs the default set: ``tests``, ``plugins``, ``ray``, ``examples``, ``lint``. ``demo`` is the main job (a
real tuning run of a PyTorch model), ``benchmarks`` measures orchestration overhead and ``benchmarks-ray``
the Ray executor's beside Ray Tune's; they run only when named (``python3 -m nox -s demo``). Every
session forwards ``session.posargs``, e.g.
``python3 -m nox -s tests -- -k spec -x``. ``compat`` runs the tests on each supported Python; with pyenv,
expose them first: ``PYENV_VERSION=3.11.7:3.10.13:3.12.1 python3 -m nox -s compat``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nox

# --- constants ---------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
#: Every Python the classifiers promise; ``compat`` runs the tests on each one that is installed.
PYTHONS: list[str] = nox.project.python_versions(PYPROJECT)
#: Default sessions use the interpreter running nox when the project supports it, so a machine with
#: only one Python (CI: ``python3 -m nox``) never fails on an absent interpreter; None means "nox's own".
_RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
PYTHON: str | None = _RUNNING if _RUNNING in PYTHONS else None
#: In-repo plugin distributions, one folder each (``plugins/tune-hyperband/pyproject.toml``).
PLUGINS: list[str] = sorted(p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml"))
#: Plugins whose dependencies are heavy get a session of their own instead of a ``plugins`` run.
OWN_SESSION = {"tune-ray": "ray"}
#: The CPU build of torch the examples are checked against; never a CUDA build (a 2 GB download).
TORCH = "torch==2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Strict plugin loading: a plugin that fails to load fails the run instead of warning.
STRICT_ENV = {"TUNE_STRICT_PLUGINS": "1"}

nox.options.sessions = ["tests", "plugins", "ray", "examples", "lint"]
nox.options.default_venv_backend = "venv"
# Keep environments between local runs (installs are then a quick no-op check); CI starts clean anyway.
nox.options.reuse_venv = "yes"


# --- shared steps ------------------------------------------------------------------------------
def _install_core(session: nox.Session, *extras: str, torch: bool = False) -> None:
    """Install tune-core (editable, so tests see the working tree) with ``extras``, and torch if asked."""
    if torch:
        _install_torch(session)
    target = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", target)


def _install_torch(session: nox.Session) -> None:
    """Install the CPU torch build: from a local wheel directory when pip has one, else PyTorch's CPU index.

    A plain ``pip install torch`` from PyPI on Linux pulls the CUDA build; the CPU index avoids that.
    """
    config = session.run("python", "-m", "pip", "config", "list", silent=True) or ""
    links = [
        part.strip("'\"")
        for line in str(config).splitlines()
        if "find-links" in line
        for part in line.split("=", 1)[1].split()
    ]
    version = TORCH.split("==", 1)[1]
    local = any(Path(d).glob(f"torch-{version}+cpu-*.whl") for d in links if Path(d).is_dir())
    if local:
        session.install(TORCH)
    else:
        session.install(TORCH, "--index-url", TORCH_CPU_INDEX)


def _install_apt(session: nox.Session, packages: list[str]) -> None:
    """Install the Debian packages a plugin's tests need (``[tool.tune-core] test-apt``, e.g. chromium
    for a real headless browser) when they are missing; CI runs as root on Debian."""
    def installed(package: str) -> bool:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        return status.stdout == "install ok installed"

    missing = [package for package in packages if not installed(package)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        session.error(f"the tests need the Debian packages {missing}, and this machine has no apt-get")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True, env=env)


def _plugin_extras(plugin: str) -> str:
    """``[test]`` when the plugin's pyproject declares a ``test`` extra, else nothing."""
    meta = nox.project.load_toml(f"plugins/{plugin}/pyproject.toml")
    extras = meta.get("project", {}).get("optional-dependencies", {})
    return "[test]" if "test" in extras else ""


def _plugin_tool(plugin: str) -> dict[str, Any]:
    """A plugin's ``[tool.tune-core]`` table: ``test-plugins`` (in-repo plugins its tests use),
    ``test-torch`` (its tests need the CPU build of torch, installed as the examples get it),
    ``test-apt`` (Debian packages its tests need, e.g. chromium) and ``test-setup`` (commands run in
    its test environment once it is installed, e.g. ``python -m tune_viskit.install``)."""
    meta = nox.project.load_toml(f"plugins/{plugin}/pyproject.toml")
    table: dict[str, Any] = meta.get("tool", {}).get("tune-core", {})
    return table


def _plugin_test_peers(plugin: str) -> list[str]:
    """The other in-repo plugins a plugin's tests combine it with (``[tool.tune-core] test-plugins``
    in its pyproject, e.g. a searcher tested beside the ASHA scheduler)."""
    peers = _plugin_tool(plugin).get("test-plugins", [])
    missing = [peer for peer in peers if peer not in PLUGINS]
    if missing:
        raise ValueError(f"plugins/{plugin}: test-plugins names {missing}, not folders under plugins/")
    return list(peers)


# --- sessions ----------------------------------------------------------------------------------
@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the core test suite (the torch examples run in ``examples``, which installs torch; the
    installed-plugin tests in ``plugins``)."""
    _install_core(session, "dev")
    session.run("pytest", "tests", "--ignore=tests/test_examples.py", "--ignore=tests/test_plugins_outside.py",
                *session.posargs, env=STRICT_ENV)


#: The ``plugins`` session's first run: the example plugins in ``tests/data/plugins``, built and
#: pip-installed into a fresh environment exactly as an outside author's would be.
OUTSIDE = "outside-examples"


@nox.session(python=PYTHON)
@nox.parametrize("plugin", [OUTSIDE, *(p for p in PLUGINS if p not in OWN_SESSION)])
def plugins(session: nox.Session, plugin: str) -> None:
    """Install one in-repo plugin beside the core and run its own tests (``outside-examples``: the
    outside-plugin tests, which build and install example distributions with pip)."""
    _install_core(session, "dev")
    if plugin == OUTSIDE:
        session.run("pytest", "tests/test_plugins_outside.py", *session.posargs, env=STRICT_ENV)
        return
    if _plugin_tool(plugin).get("test-torch"):
        _install_torch(session)
    _install_apt(session, _plugin_tool(plugin).get("test-apt", []))
    peers = [f"plugins/{peer}" for peer in _plugin_test_peers(plugin)]
    session.install("-e", f"plugins/{plugin}{_plugin_extras(plugin)}", *(a for p in peers for a in ("-e", p)))
    for command in _plugin_tool(plugin).get("test-setup", []):
        session.run(*command, env=STRICT_ENV)
    tests_dir = ROOT / "plugins" / plugin / "tests"
    if not tests_dir.is_dir():
        session.error(f"plugins/{plugin} has no tests/ folder: every plugin ships its own tests")
    session.run("pytest", str(tests_dir), *session.posargs, env=STRICT_ENV)


@nox.session(python=PYTHON)
def ray(session: nox.Session) -> None:
    """The Ray executor plugin (installs ray) against a real local Ray that its tests start and stop."""
    _install_core(session, "dev")
    peers = [arg for peer in _plugin_test_peers("tune-ray") for arg in ("-e", f"plugins/{peer}")]
    session.install("-e", f"plugins/tune-ray{_plugin_extras('tune-ray')}", *peers)
    session.run("pytest", "plugins/tune-ray/tests", *session.posargs,
                env={**STRICT_ENV, "RAY_USAGE_STATS_ENABLED": "0"})


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run the examples' tests, including the real PyTorch digits tuning run (the README's scheduler
    and searcher examples use ASHA from tune-hyperband and Optuna from tune-optuna)."""
    _install_core(session, "torch", "dev", torch=True)
    session.install("-e", "plugins/tune-hyperband", "-e", "plugins/tune-optuna")
    session.run("pytest", "tests/test_examples.py", *session.posargs, env=STRICT_ENV)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff (whole repo) and types with mypy (tune_core)."""
    _install_core(session, "dev")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("mypy")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: tune a PyTorch MLP on scikit-learn's digits (10-20 s of tuning on 2 cores)."""
    _install_core(session, "torch", torch=True)
    session.run("python", "examples/tune_digits.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def benchmarks(session: nox.Session) -> None:
    """Measure orchestration overhead (W1-W4 and peak memory) against the plain-Python floor; with
    ``-- schedulers.py|early_stopping.py|pbt_toy.py [args]``, the scheduler figures (S1, Q1, Q2); with
    ``-- search.py [args]``, the search plugins' (Q3, Q4, TPE + ASHA); with ``-- tensorboard_cost.py``, W1
    with the TensorBoard logger on beside the default loggers; with ``-- client_load.py``, W1's shape beside
    50 clients polling the Client API."""
    # A regular install, as users get it: pip byte-compiles it, so start-up is not spent compiling.
    session.install(".", "./plugins/tune-hyperband", "./plugins/tune-pbt")
    if session.posargs[:1] == ["early_stopping.py"]:
        session.install("optuna")  # Q1's anchor, measured in the same run
    if session.posargs[:1] == ["search.py"]:
        session.install("./plugins/tune-hyperopt", "./plugins/tune-optuna")
    if session.posargs[:1] == ["client_load.py"]:
        session.install("./plugins/tune-server")  # the Client API server the pollers call
    if session.posargs[:1] == ["tensorboard_cost.py"]:
        session.install("./plugins/tune-tensorboard", "tensorboardX")  # tensorboardX: the reference variant
    script, *args = session.posargs if session.posargs[:1] and session.posargs[0].endswith(".py") else (
        "run.py", *session.posargs)
    session.run("python", f"benchmarks/{script}", *args)


#: The Ray Tune release the Ray executor is compared with (BENCHMARKS.md, "Orchestration overhead").
RAY_TUNE = "ray[tune]==2.60.*"


@nox.session(name="benchmarks-ray", python=PYTHON, default=False)
def benchmarks_ray(session: nox.Session) -> None:
    """W1-W4 and peak memory of the Ray executor (tune-ray) beside Ray Tune itself on the same local Ray,
    with tune-core's local executor and the floor for reference; arguments go to ``run.py`` (defaults:
    every system, ``--w2-trials 200`` for Ray Tune, e.g. ``-- --only W1,W2 --repeat 1``)."""
    session.install(".", "./plugins/tune-ray", RAY_TUNE)
    args = list(session.posargs)
    if not any(arg.startswith("--systems") for arg in args):
        args = ["--systems", "floor,tune-core,tune-ray,ray-tune,ray-tune-reuse", *args]
    if not any(arg.startswith("--w2-trials") for arg in args):
        args += ["--w2-trials", "200"]  # Ray Tune's W2 runs at about 1 trial/s: 500 would take 8-12 minutes
    session.run("python", "benchmarks/run.py", *args, env={"RAY_USAGE_STATS_ENABLED": "0"})


@nox.session(python=PYTHONS, default=False)
def compat(session: nox.Session) -> None:
    """Run the core tests on every Python the classifiers list (each needs pythonX.Y on PATH)."""
    _install_core(session, "dev")
    session.run("pytest", "tests", *session.posargs, env=STRICT_ENV)
