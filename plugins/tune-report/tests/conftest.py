"""Fixtures of the tune-report tests: real experiment directories (written by tune-core's own JSON
logger) and a headless Chromium (Debian's ``chromium`` at /usr/bin/chromium, driven by Playwright;
Playwright's browser download is never used). Plugins load strictly, as in tune-core's own suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core.search import BasicVariantGenerator
from tune_core.testing import DEFAULT_SPACE, ThreadExecutor, simulate

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")

CHROMIUM = os.environ.get("TUNE_REPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: The 1,000-trial experiment's config: the simulator's three numbers, plus categorical and nested keys.
BIG_SPACE = {**DEFAULT_SPACE, "activation": tune.choice(["relu", "tanh", "gelu"]),
             "optimizer": {"name": tune.choice(["sgd", "adam"]), "nesterov": tune.choice([True, False, None])},
             "seed": 7}


def train(config: dict[str, Any], reporter: Any) -> None:
    """A small real trainable: accuracy rises with each step, best near lr=0.01 with relu."""
    for step in range(1, 7):
        accuracy = 0.9 - 20 * (config["lr"] - 0.01) ** 2 - 0.1 * (config["act"] == "tanh") + 0.01 * step
        reporter(mean_accuracy=accuracy, mean_loss=1 - accuracy, timesteps_total=step * 10)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 trials (a grid of 2 x 4 samples) with numeric, log-scale, string, bool, None, nested and
    constant config keys, run for real on the thread executor."""
    local_dir = tmp_path_factory.mktemp("small")
    tune.run_experiments({"small": {
        "run": train, "local_dir": str(local_dir), "num_samples": 4,
        "config": {"lr": tune.loguniform(1e-4, 1e-1), "momentum": tune.uniform(0, 1),
                   "act": tune.grid_search(["relu", "tanh"]), "bn": tune.choice([True, False]),
                   "opt": {"name": "sgd", "nesterov": tune.choice([True, None])}, "seed": 0}}},
        executor=ThreadExecutor(2), search_alg=BasicVariantGenerator(seed=0), verbose=0)
    return local_dir / "small"


@pytest.fixture(scope="session")
def big_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 trials of 10 results each, on the simulator's virtual clock, written by the JSON logger."""
    local_dir = tmp_path_factory.mktemp("big")
    result = simulate(num_trials=1000, workers=100, max_t=10, config=BIG_SPACE, local_dir=str(local_dir),
                      loggers=["json"], name="big", seed=3)
    assert result.by_status() == {"TERMINATED": 1000}
    return local_dir / "big"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium: the system's, never a downloaded one."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the report tests open the report in a real browser "
                    "(apt-get install chromium, or set TUNE_REPORT_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
