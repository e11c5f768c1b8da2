"""Fixtures shared by the whole test suite; per-area fixtures live next to their tests.

Tests load plugins strictly (``TUNE_STRICT_PLUGINS=1``): a plugin that fails to load fails the test run
instead of being skipped with a warning. Set at import, before any test imports tune_core, and inherited
by every trial worker and subprocess a test starts. An explicit value in the environment wins.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")

#: Outside plugin distributions used as test data: their own tests run where they are installed.
collect_ignore_glob = ["data/*"]

#: The plugin author's test kit, registered before any test module imports tune_core.
pytest_plugins = ["tune_core.plugins.testing"]


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A fresh results root for one test (``local_dir=`` in a spec), so nothing lands in ~/tune_results."""
    return tmp_path / "results"


@pytest.fixture
def tmp_local_dir(local_dir: Path) -> Path:
    """Alias of ``local_dir``."""
    return local_dir
