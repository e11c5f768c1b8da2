"""The dashboard at ``/``, opened in a real headless Chromium (Debian's ``chromium``, driven by
Playwright; its own browser download is never used) against a real served run: the table shows every
trial, a stop button stops its trial, the learning curves are drawn, no console errors, no request leaves
127.0.0.1; without a token the page says so and calls nothing. Plus ``/results`` read from disk."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import Served, finish, serve
from test_security import call
from tune_server.server import DASHBOARD_FILES, read_metric

import tune_core as tune

CHROMIUM = os.environ.get("TUNE_SERVER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium: the system's, never a downloaded one."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the dashboard tests open the page in a real browser "
                    "(apt-get install chromium, or set TUNE_SERVER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Three long trials with different learning rates, served until the module is done."""
    running = serve(tmp_path_factory.mktemp("dash"), "dash", {
        "run": "server_trainables:steps",
        "config": {"sleep": 0.05, "iters": 100000, "lr": tune.grid_search([0.1, 0.01, 0.001])}},
        executor="thread")
    yield running
    finish(running)


def address(served: Served) -> tuple[str, str]:
    info = json.loads((served.experiment_dir / ".tune_server.json").read_text())
    return info["address"], info["token"]


class Watched:
    """A page with its console errors, uncaught exceptions and every request it made recorded."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.api: list[tuple[str, int]] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: self.api.append((urlsplit(r.url).path, r.status))
                     if urlsplit(r.url).path.startswith("/api") else None)

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname or url for url in self.requests if not url.startswith("data:")}


def test_the_dashboard_shows_and_stops_trials(browser: Any, grid: Served) -> None:
    where, token = address(grid)
    client = grid.client()
    trials = client.get_all_trials()
    assert len(trials) == 3
    watched = Watched(browser)
    page = watched.page
    page.goto(f"http://{where}/#token={token}")
    # Every trial in the table, with the config key that varies and the default metric.
    page.wait_for_function("() => document.querySelectorAll('#trials tbody tr[data-trial-id]').length === 3",
                           timeout=20000)
    assert "token" not in page.url  # Taken out of the address bar once read.
    ids = page.eval_on_selector_all("#trials tbody tr[data-trial-id]", "rows => rows.map(r => r.dataset.trialId)")
    assert sorted(ids) == sorted(t["trial_id"] for t in trials)
    headers = page.eval_on_selector_all("#trials thead th", "cells => cells.map(c => c.textContent)")
    assert "lr" in headers and "score" in headers and "sleep" not in headers, headers
    assert page.input_value("#metric") == "score"
    # The learning curves: uPlot has a series per trial that reported (two run at once on two CPUs),
    # with points from the trials' result files.
    reported = sum(1 for t in client.get_all_trials() if t["last_result"])
    assert reported >= 2
    page.wait_for_function("""n => { const s = window.tuneDashboard;
        return s.chart && s.chart.series.length >= 1 + n && s.history.size >= n
               && [...s.history.values()].every(h => h.points.length >= 3); }""", arg=reported, timeout=20000)
    drawn = page.evaluate("""() => { const c = document.querySelector('#chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; }""")
    assert drawn > 500, drawn
    assert "Best trial (max score)" in page.inner_text("#best")
    # Click the first trial's stop button: the server says TERMINATED, the others still run.
    victim = ids[0]
    page.click(f"#trials tbody tr[data-trial-id='{victim}'] button.stop")
    deadline = time.monotonic() + 20
    while client.get_trial(victim)["status"] != "TERMINATED":
        assert time.monotonic() < deadline, "the stop button did not stop the trial"
        time.sleep(0.05)
    page.wait_for_function(f"""() => {{ const row = document.querySelector("tr[data-trial-id='{victim}']");
        return row && row.querySelector('.status').textContent === 'TERMINATED' && !row.querySelector('button'); }}""",
                           timeout=10000)
    others = {t["trial_id"]: t["status"] for t in client.get_all_trials() if t["trial_id"] != victim}
    assert set(others.values()) <= {"RUNNING", "PENDING"}, others
    assert page.locator("#trials tbody button.stop").count() == 2
    assert page.is_hidden("#message")
    assert watched.errors == [], watched.errors
    assert watched.hosts() == {"127.0.0.1"}, watched.hosts()
    assert any(path.endswith("/results") and status == 200 for path, status in watched.api), watched.api
    watched.context.close()


def test_without_a_token_the_page_says_so(browser: Any, grid: Served) -> None:
    where, _ = address(grid)
    before = [(t["trial_id"], t["status"]) for t in grid.client().get_all_trials()]
    watched = Watched(browser)
    watched.page.goto(f"http://{where}/")
    watched.page.wait_for_selector("#message:not([hidden])", timeout=10000)
    assert "No token" in watched.page.inner_text("#message")
    assert watched.page.is_hidden("#main")
    watched.page.wait_for_timeout(1500)  # More than a poll: still nothing asked.
    assert watched.api == [], watched.api
    assert watched.errors == [], watched.errors
    watched.context.close()
    # A wrong token: the server's 401 (the browser logs it), the page explains and stops polling.
    watched = Watched(browser)
    watched.page.goto(f"http://{where}/#token={'x' * 43}")
    watched.page.wait_for_selector("#message:not([hidden])", timeout=10000)
    assert "rejected" in watched.page.inner_text("#message")
    watched.page.wait_for_timeout(1500)
    assert watched.api == [("/api/trials", 401)], watched.api
    assert [(t["trial_id"], t["status"]) for t in grid.client().get_all_trials()] == before
    watched.context.close()


def test_the_page_is_served_plainly(grid: Served) -> None:
    """Every dashboard file answers with its type and a policy that keeps the page on this server."""
    import http.client

    where, _ = address(grid)
    host, port = where.rsplit(":", 1)
    for path, (_, media_type) in DASHBOARD_FILES.items():
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200 and response.getheader("content-type") == media_type, path
        assert "default-src 'self'" in str(response.getheader("content-security-policy"))
        assert body and b"https://" not in body.replace(b"https://github.com/leeoniya/uPlot", b""), path
    status, _, answer = call(grid, "GET", "/dashboard.js/../../etc/passwd")
    assert status == 404 and "error" in answer


def test_results_endpoint(grid: Served) -> None:
    trial_id = grid.client().get_all_trials()[1]["trial_id"]
    status, _, first = call(grid, "GET", f"/api/trials/{trial_id}/results?metric=score")
    assert status == 200 and first["start"] == 0 and first["metric"] == "score"
    assert [p[1] for p in first["points"]] == [p[0] for p in first["points"]]  # score == training_iteration
    status, _, more = call(grid, "GET", f"/api/trials/{trial_id}/results?metric=score&offset={first['offset']}")
    assert status == 200 and more["start"] == first["offset"] and more["offset"] >= first["offset"]
    if more["points"] and first["points"]:
        assert more["points"][0][0] == first["points"][-1][0] + 1
    for query, word in [("metric=a%20b", "'metric'"), ("", "'metric'"), ("metric=score&offset=-1", "'offset'"),
                        ("metric=score&offset=x", "'offset'")]:
        status, _, answer = call(grid, "GET", f"/api/trials/{trial_id}/results?{query}")
        assert status == 422 and word in answer["error"], (query, answer)
    status, _, answer = call(grid, "GET", "/api/trials/nope/results?metric=score")
    assert status == 404
    status, _, answer = call(grid, "GET", f"/api/trials/{trial_id}/results?metric=score", token=None)
    assert status == 401


def test_read_metric_is_tail_safe(tmp_path: Path) -> None:
    """Only complete lines are read; the half-written one waits for the next call; nested paths work."""
    path = tmp_path / "result.json"
    assert read_metric(path, "loss") == ([], 0, 0)
    lines = [json.dumps({"training_iteration": i, "loss": 1 / i, "info": {"acc": i / 10}}) + "\n" for i in (1, 2)]
    path.write_text(lines[0] + lines[1] + '{"training_iteration": 3, "lo')
    points, start, offset = read_metric(path, "loss")
    assert points == [[1.0, 1.0], [2.0, 0.5]] and start == 0 and offset == len(lines[0] + lines[1])
    with open(path, "a") as stream:
        stream.write('ss": 0.25}\n{"training_iteration": 4, "loss": NaN}\n')
    assert read_metric(path, "loss", offset)[0] == [[3.0, 0.25]]  # NaN is no point.
    assert read_metric(path, "info/acc")[0] == [[1.0, 0.1], [2.0, 0.2]]
    assert read_metric(path, "loss", 10**9)[1] == 0  # Past the end: the file was rewritten, start over.
