"""Fixtures of the tune-viskit tests. Plugins load strictly, as in tune-core's own suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")
HERE = str(Path(__file__).parent)
sys.path.insert(0, HERE)  # ``viskit_trainables``
# Worker processes started fresh (not forked) import ``viskit_trainables`` too.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A fresh results root for one test, so nothing lands in ~/tune_results."""
    return tmp_path / "results"
