"""Fixtures of the tune-ray tests: one real local Ray (4 CPUs, no dashboard) for the whole session,
started here and shut down at the end. Plugins load strictly, as in tune-core's own suite."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
HERE = str(Path(__file__).parent)
sys.path.insert(0, HERE)  # ``ray_trainables``
# Ray's workers start fresh and inherit this environment: they import ``ray_trainables`` too.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)

NUM_CPUS = 4


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray this test session started; executors made without ``address`` use it."""
    import ray

    if ray.is_initialized():  # Someone else's session: not ours to shut down.
        yield ray
        return
    ray.init(address="local", num_cpus=NUM_CPUS, include_dashboard=False, object_store_memory=200 * 1024 * 1024,
             log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A fresh results root for one test, so nothing lands in ~/tune_results."""
    return tmp_path / "results"
