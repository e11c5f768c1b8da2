"""Fixtures of the tune-ray tests: one real local Ray (4 CPUs, no dashboard) for the whole session,
started here and shut down at the end. Plugins load strictly, as in tune-core's own suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH

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

