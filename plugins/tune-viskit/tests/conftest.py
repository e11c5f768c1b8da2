"""Fixtures of the tune-viskit tests. Plugins load strictly, as in tune-core's own suite."""

from __future__ import annotations

pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH

