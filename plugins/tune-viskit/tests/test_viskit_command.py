"""``tune-core viskit DIR``: VisKit's frontend served on a finished experiment, fetched over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import viskit_trainables as trainables

import tune_core as tune

pytest.importorskip("viskit.frontend", reason="install VisKit: python -m tune_viskit.install")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float, server: subprocess.Popen[str]) -> str:
    """GET ``url``, retrying while the server starts; fail early if it exits."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            pytest.fail(f"GET {url}: {exc}")
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None:
                pytest.fail(f"tune-core viskit exited {server.returncode}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _tune_core(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tune_core", *args], capture_output=True, text=True,
                          timeout=60, **kwargs)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    local_dir = tmp_path_factory.mktemp("results")
    tune.run_experiments({"served": {"run": trainables.curve, "local_dir": str(local_dir),
                                     "config": {"lr": tune.grid_search([0.1, 0.3]), "steps": 4}}},
                         verbose=0, loggers=["json", "csv", "viskit"], executor_config={"num_cpus": 2})
    return local_dir / "served"


def test_serves_viskit_frontend_on_the_experiment(experiment: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "server.log"  # a file, not a pipe: nobody reads a pipe while the server runs
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "tune_core", "viskit", str(experiment),
                                   "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        page = _get(base + "/", time.monotonic() + 60, server)
        assert "VisKit" in page and "loss" in page and "info/grad_norm" in page
        assert "plotly" in page.lower() and "<b>lr</b>: 0.1, 0.3" in page, "the plot and the searched lr"
        js = _get(base + "/tune-viskit/plotly.min.js", time.monotonic() + 10, server)
        assert len(js) > 100_000
        # VisKit's own view for another metric, one curve per lr (as the page asks for it).
        query = urllib.parse.urlencode({
            "plot_key": "training_iteration", "split_key": "none", "group_key": "none",
            "custom_series_splitter": "lambda exp: 'lr' + '=' + '%s' % (exp.flat_params.get('lr'),)"})
        div = _get(f"{base}/plot_div?{query}", time.monotonic() + 10, server)
        assert "lr=0.1" in div and "lr=0.3" in div
    finally:
        server.terminate()
        server.wait(timeout=30)
    output = log.read_text()
    assert "VisKit on 2 trials" in output and "Traceback" not in output, output


def test_results_root_is_accepted(experiment: Path) -> None:
    from tune_viskit.cli import find_data_paths

    assert find_data_paths(experiment.parent) == [str(experiment / "viskit")]
    assert find_data_paths(experiment / "viskit") == [str(experiment / "viskit")]


def test_directory_without_viskit_output_is_a_clear_error(tmp_path: Path) -> None:
    done = _tune_core("viskit", str(tmp_path))
    assert done.returncode == 1
    assert "no output of the viskit logger" in done.stderr and "'viskit'" in done.stderr
    assert "Traceback" not in done.stderr
    missing = _tune_core("viskit", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "is not a directory" in missing.stderr


def test_without_viskit_the_error_gives_the_install_command(experiment: Path, tmp_path: Path) -> None:
    # A ``viskit`` package that fails to import stands in for an absent one, ahead of the real one.
    (tmp_path / "viskit").mkdir()
    (tmp_path / "viskit" / "__init__.py").write_text("raise ImportError('No module named viskit')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = _tune_core("viskit", str(experiment), "--port", str(_free_port()), env=env)
    assert done.returncode == 1, done.stderr
    assert "python -m tune_viskit.install" in done.stderr and "Traceback" not in done.stderr


def test_bad_port_is_refused(experiment: Path) -> None:
    done = _tune_core("viskit", str(experiment), "--port", "70000")
    assert done.returncode == 1 and "--port must be between 1 and 65535, got 70000" in done.stderr


def test_listed_in_help() -> None:
    done = _tune_core("--help")
    assert done.returncode == 0 and "viskit" in done.stdout
