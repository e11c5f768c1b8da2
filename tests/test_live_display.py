"""The live display under a real pseudo-terminal: a small real run draws the progress bar, the
elapsed time, the time left and the best result, and ends with the final table on screen."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LRS = (0.1, 0.2, 0.3, 0.4)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

DRIVER = """\
import sys, time
sys.path.insert(0, {root!r})
import tune_core as tune

def train(config, reporter):
    for i in range(1, 4):
        time.sleep(0.2)
        reporter(mean_accuracy=config["lr"] * i, timesteps_total=i)

tune.run_experiments(
    {{"live": {{"run": train, "config": {{"lr": tune.grid_search({lrs!r}), "bs": 32}},
               "local_dir": {local_dir!r}}}}},
    executor="thread", executor_config={{"num_cpus": 2}}, metric="mean_accuracy", mode="max",
)
"""


def run_in_terminal(script: Path, columns: int = 120, rows: int = 50, deadline_s: float = 60) -> tuple[int, str]:
    """Run ``script`` with stdout and stderr on a new pseudo-terminal; its exit code and all it drew."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.DEVNULL, stdout=secondary,
                            stderr=secondary, env=env, cwd=script.parent)
    os.close(secondary)
    chunks: list[bytes] = []
    end = time.monotonic() + deadline_s
    try:
        while time.monotonic() < end:
            if not select.select([main], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: every writer closed the terminal, the driver is gone.
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
            pytest.fail("the driver did not end in time:\n" + b"".join(chunks).decode(errors="replace"))
    finally:
        os.close(main)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", errors="replace")


def frames_of(raw: str) -> list[str]:
    """The frames rich drew: each redraw first erases the previous frame's lines (``ESC[2K``)."""
    frames = (ANSI.sub("", part).replace("\r", "") for part in raw.split("\x1b[2K"))
    return [f for f in frames if f.strip()]


def test_live_display_in_a_pseudo_terminal(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(root=str(ROOT), lrs=list(LRS), local_dir=str(tmp_path / "results")))
    started = time.monotonic()
    code, raw = run_in_terminal(script)
    took = time.monotonic() - started
    assert code == 0, raw
    assert "\x1b[1A" in raw, "no redraw: the display was not live"
    frames = frames_of(raw)
    assert len(frames) >= 3, frames
    text = "\n".join(frames)
    assert "== Status ==" not in text  # A terminal gets the live table, not plain blocks.
    # While it ran: nothing finished yet and no estimate, then an estimate once trials finished.
    assert "0/4 trials finished" in text and "time left ?" in text
    assert re.search(r"[123]/4 trials finished, elapsed \d:\d\d:\d\d, about \d:\d\d:\d\d left", text), text
    assert "RUNNING" in text

    final = frames[-1]
    lines = final.splitlines()
    # The bar (complete), the count and the elapsed time, without an estimate once done.
    bar = next(line for line in lines if "trials finished" in line)
    assert "━" in bar and "4/4 trials finished" in bar and "left" not in bar
    elapsed = re.search(r"elapsed (\d+):(\d\d):(\d\d)", bar)
    assert elapsed, bar
    seconds = int(elapsed[1]) * 3600 + int(elapsed[2]) * 60 + int(elapsed[3])
    assert 1 <= seconds <= took + 1  # Two waves of 0.6 s trials.
    # The best result so far names the trial and its searched config.
    best = next(line for line in lines if line.startswith("Best so far:"))
    assert "train_3_lr=0.4 with mean_accuracy=1.2 (max) and config lr=0.4" in best
    # The final table: every trial TERMINATED, with its searched config and last results.
    rows = [line for line in lines if line.lstrip().startswith("train_")]
    assert [row.split()[0] for row in rows] == [f"train_{i}_lr={lr}" for i, lr in enumerate(LRS)]
    assert all(row.split()[2] == "TERMINATED" for row in rows), rows
    assert all(row.split()[-1] == _short(lr * 3) for row, lr in zip(rows, LRS, strict=True)), rows
    header = next(line for line in lines if "Trial name" in line)
    assert "lr" in header.split() and "bs" not in header.split()  # Only the searched key.
    # ... and the display ends with it: nothing drawn after the table.
    assert final.rstrip().endswith(rows[-1].rstrip())
    assert raw.rstrip().endswith("\x1b[?25h")  # The cursor is shown again.


def _short(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def test_plain_blocks_when_not_a_terminal(tmp_path: Path) -> None:
    """The same run on a pipe prints the seed's blocks, with the best trial named."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(root=str(ROOT), lrs=[0.1, 0.2], local_dir=str(tmp_path / "results")))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    blocks = [b for b in proc.stdout.split("== Status ==\n") if b.strip()]
    assert blocks and "\x1b[" not in proc.stdout
    last = blocks[-1].splitlines()
    assert last[0] == "Using FIFO scheduling algorithm."
    assert last[2] == "Current best trial: train_1_lr=0.2 with mean_accuracy=0.6 (max) and config lr=0.2, bs=32"
    assert last[3].startswith("Result logdir: ")
    assert "Number of trials: 2 (2 TERMINATED)" in last
