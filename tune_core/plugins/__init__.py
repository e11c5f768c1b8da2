"""The plugin system: what a plugin author imports is here; the rest is internal.

For plugin authors:
    ``tune_core.plugins`` (this module): ``hookimpl``, the registration records and ``lazy``.
    ``tune_core.plugins.hookspecs``: every hook, with its signature and an example.
    ``tune_core.plugins.testing``: an opt-in pytest plugin (``pytest_plugins = ["tune_core.plugins.testing"]``).

Every module a plugin may import is in ``PUBLIC_MODULES``; a test keeps the in-repo plugins and the
framework adapters to it. Internal (used by the runner and the CLI): ``kinds`` (the table of plugin
kinds), ``manager`` (loading), ``registry`` (lookups by name), ``provenance`` (which plugin is at
fault), ``observers`` (calling ``tune_on_*`` hooks), ``listing`` (``tune-core plugins``), ``errors``.
"""

from tune_core.plugins.hookspecs import PROJECT, hookimpl
from tune_core.plugins.types import (
    CommandSpec,
    ExecutorSpec,
    LoggerSpec,
    PluginSource,
    PluginSpec,
    Registered,
    SchedulerSpec,
    SearcherSpec,
    ServiceSpec,
    TrainableAdapterSpec,
    lazy,
)

__all__ = [
    "PROJECT",
    "PUBLIC_MODULES",
    "CommandSpec",
    "ExecutorSpec",
    "LoggerSpec",
    "PluginSource",
    "PluginSpec",
    "Registered",
    "SchedulerSpec",
    "SearcherSpec",
    "ServiceSpec",
    "TrainableAdapterSpec",
    "hookimpl",
    "lazy",
]

#: The modules a plugin may import: the contracts, the plugin API, the trial runtime (for executors),
#: the search-space types (for searchers), option checks, the test kits, and the user's API.
PUBLIC_MODULES = (
    "tune_core",
    "tune_core.control",
    "tune_core.interfaces",
    "tune_core.loggers",
    "tune_core.options",
    "tune_core.plugins",
    "tune_core.plugins.hookspecs",
    "tune_core.plugins.testing",
    "tune_core.runtime",
    "tune_core.search",
    "tune_core.search.sample",
    "tune_core.testing",
    "tune_core.util",
)
