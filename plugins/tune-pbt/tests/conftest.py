"""Fixtures of tune-pbt's tests: a results root per test, strict plugin loading, and the test kit."""

from __future__ import annotations

import os

os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")

pytest_plugins = ["tune_core.testing"]

