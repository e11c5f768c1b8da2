"""Fixtures of the tune-hyperband tests. Plugins load strictly, as in tune-core's own suite: a plugin
that fails to load fails the run instead of being skipped with a warning."""

from __future__ import annotations

pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH

