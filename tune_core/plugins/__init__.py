"""The plugin system: what a plugin author imports is here; the rest is internal.

For plugin authors:
    ``tune_core.plugins`` (this module): ``hookimpl``, the registration records and ``lazy``.
    ``tune_core.plugins.hookspecs``: every hook, with its signature and an example.
    ``tune_core.plugins.testing``: an opt-in pytest plugin (``pytest_plugins = ["tune_core.plugins.testing"]``).

Internal (used by the runner and the CLI): ``manager`` (loading), ``registry`` (lookups by name),
``observers`` (calling ``tune_on_*`` hooks), ``listing`` (``tune-core plugins``), ``errors`` (wording).
"""

from tune_core.plugins.hookspecs import PROJECT, hookimpl
from tune_core.plugins.types import (
    ExecutorSpec,
    LoggerSpec,
    PluginSource,
    PluginSpec,
    Registered,
    SchedulerSpec,
    SearcherSpec,
    TrainableAdapterSpec,
    lazy,
)

__all__ = [
    "PROJECT",
    "ExecutorSpec",
    "LoggerSpec",
    "PluginSource",
    "PluginSpec",
    "Registered",
    "SchedulerSpec",
    "SearcherSpec",
    "TrainableAdapterSpec",
    "hookimpl",
    "lazy",
]
