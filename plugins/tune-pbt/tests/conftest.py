"""Fixtures of tune-pbt's tests: a results root per test, strict plugin loading, and the test kit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")

pytest_plugins = ["tune_core.testing"]


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A fresh results root for one test, so nothing lands in ~/tune_results."""
    return tmp_path / "results"
