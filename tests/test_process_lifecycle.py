"""Process life: no orphaned workers when the driver dies; the CLI runs a spec file end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import sys, time
sys.path[:0] = [{tests!r}, {root!r}]
import tune_core as tune

def forever(config, reporter):
    i = 0
    while True:
        i += 1
        reporter(i=i)
        time.sleep(0.05)

tune.run_experiments({{"e": {{"run": forever, "num_samples": 2, "local_dir": {local!r}}}}},
                     verbose=0, executor_config={{"num_cpus": 2}})
"""


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_workers_exit_when_the_driver_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(tests=str(ROOT / "tests"), root=str(ROOT), local=str(tmp_path / "r")))
    driver = subprocess.Popen([sys.executable, str(script)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = _children(driver.pid)
        assert len(workers) >= 2, "the driver never started its workers"
        results = list((tmp_path / "r" / "e").glob("*/result.json"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(p.stat().st_size for p in results):
            time.sleep(0.1)
            results = list((tmp_path / "r" / "e").glob("*/result.json"))
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f"orphaned workers: {[p.pid for p in alive]}"
    finally:
        if driver.poll() is None:
            driver.kill()


def test_cli_runs_a_yaml_spec_and_lists_results(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "quick:\n"
        "  run: trainables:counting\n"
        f"  local_dir: {tmp_path / 'r'}\n"
        "  config:\n"
        "    iters: 3\n"
        "    step:\n"
        "      grid_search: [1, 2]\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]))
    out = subprocess.run(
        [sys.executable, "-m", "tune_core", "run", str(spec), "--metric", "score", "--mode", "max",
         "--executor-config", json.dumps({"num_cpus": 2})],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "== Status ==" in out.stdout
    assert 'Best config: {"iters": 3, "step": 2}' in out.stdout
    listing = subprocess.run([sys.executable, "-m", "tune_core", "ls", str(tmp_path / "r" / "quick")],
                             capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "step=1" in listing.stdout and "step=2" in listing.stdout


def test_live_table_in_a_real_terminal(tmp_path: Path) -> None:
    import pty
    import re

    script = tmp_path / "tty_driver.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path[:0] = [{str(ROOT / 'tests')!r}, {str(ROOT)!r}]\n"
        "import tune_core as tune\n"
        "def slow(config, reporter):\n"
        "    for i in range(3):\n"
        "        time.sleep(0.2)\n"
        "        reporter(mean_accuracy=i)\n"
        f"tune.run_experiments({{'tty': {{'run': slow, 'num_samples': 3, 'local_dir': {str(tmp_path / 'r')!r}}}}},\n"
        "                     executor_config={'num_cpus': 2})\n"
    )
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(script)], stdout=secondary, stderr=secondary,
                            stdin=subprocess.DEVNULL)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # The terminal closed: the driver exited.
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    assert "3/3 trials finished" in text
    assert "slow_0" in text and "TERMINATED" in text
    assert "== Status ==" not in text  # A terminal gets the live table, not plain blocks.
