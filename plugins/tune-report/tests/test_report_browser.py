"""The report as a person opens it: a real headless Chromium, offline, reading what plotly drew.

Each report must load with no console error and no request beyond the file itself, show one
parallel-coordinates line per trial, and draw something (the screenshot's plot area is not one
color). The 1,000-trial report must be ready in under 5 s; the times are printed for the record.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tune_report import write_report

#: Both figures drawn, then two frames later (so what was drawn is on screen): ms since navigation.
_READY = """() => new Promise(resolve => {
    const ready = () => ['parallel-coordinates', 'learning-curves'].every(
        id => { const gd = document.getElementById(id); return gd && gd._fullLayout; });
    const wait = () => ready() ? requestAnimationFrame(() => requestAnimationFrame(
        () => resolve(performance.now()))) : setTimeout(wait, 10);
    wait();
})"""
OPEN_LIMIT_S = 5.0


@dataclass
class Opened:
    open_s: float
    lines: int
    dimensions: list[str]
    curves: list[str]
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    parcoords_png: bytes = b""


def open_report(browser: Any, path: Path) -> Opened:
    """Open ``path`` in a fresh offline page and read back what plotly drew."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    try:
        page.goto(path.as_uri(), wait_until="load", timeout=30_000)
        ready_ms = page.evaluate(_READY)
        info = page.evaluate("""() => {
            const pc = document.getElementById('parallel-coordinates').data[0];
            return {lines: pc.dimensions[0].values.length,
                    lengths: pc.dimensions.map(d => d.values.length),
                    labels: pc.dimensions.map(d => d.label),
                    curves: document.getElementById('learning-curves').data.map(t => t.name)};
        }""")
        assert len(set(info["lengths"])) == 1, f"axes of different lengths: {info['lengths']}"
        png = page.locator("#parallel-coordinates").screenshot()
    finally:
        context.close()
    return Opened(open_s=ready_ms / 1000, lines=info["lines"], dimensions=info["labels"],
                  curves=info["curves"], errors=errors, requests=requests, parcoords_png=png)


def assert_lines_drawn(png: bytes) -> None:
    """The plot is not blank, and its WebGL lines are there: left of the color bar, hundreds of pixels
    are colored (the axes and labels, drawn as SVG, are grey and black)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 1, "the screenshot is one color"
    width, height = image.size
    plot = image.crop((0, 0, int(width * 0.75), height))
    saturation = plot.convert("HSV").split()[1]
    colored = sum(count for count, level in saturation.getcolors(256) or [] if level > 80)
    assert colored > 300, f"only {colored} colored pixels: no lines drawn?"


def test_small_report_opens_offline_with_a_line_per_trial(browser: Any, small_dir: Path,
                                                          tmp_path: Path) -> None:
    info = write_report(small_dir, tmp_path / "report.html")
    opened = open_report(browser, info.path)
    assert opened.errors == []
    assert opened.requests == []
    assert opened.lines == 8 == info.trials
    assert opened.dimensions == ["lr (log)", "momentum", "act", "bn", "opt/nesterov",
                                 "mean_accuracy (best, max)"]
    assert len(opened.curves) == 8
    assert_lines_drawn(opened.parcoords_png)


def test_a_thousand_trials_open_in_under_five_seconds(browser: Any, big_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    info = write_report(big_dir, tmp_path / "report.html")
    written_s = time.perf_counter() - start
    opened = open_report(browser, info.path)
    with capsys.disabled():
        print(f"\n1,000 trials: report written in {written_s:.2f} s "
              f"({info.path.stat().st_size / 1e6:.1f} MB), opened in Chromium in {opened.open_s:.2f} s")
    assert opened.errors == []
    assert opened.requests == []
    assert opened.lines == 1000 == info.trials
    assert opened.dimensions[-1] == "score (best, max)"
    assert {"activation", "optimizer/name", "optimizer/nesterov"} <= set(opened.dimensions)
    assert "seed" not in opened.dimensions
    assert opened.curves[0] == "990 other trials" and len(opened.curves) == 11
    assert_lines_drawn(opened.parcoords_png)
    assert opened.open_s < OPEN_LIMIT_S
