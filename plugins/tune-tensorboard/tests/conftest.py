"""Fixtures of the tune-tensorboard tests: strict plugin loading, a results root per test, and the
tests folder on the path of worker processes (fresh ones import ``tb_trainables`` from it)."""

from __future__ import annotations

pytest_plugins = ["tune_core.plugins.testing"]  # local_dir; strict plugins; this folder on PYTHONPATH

