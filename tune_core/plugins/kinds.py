"""The kinds of plugin tune-core knows: one table, read by everything that needs to know them.

A new kind of plugin costs one row here, one hook spec, one record type, one docs page and one test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tune_core.plugins.types import (
    CommandSpec,
    ExecutorSpec,
    LoggerSpec,
    PluginSpec,
    SchedulerSpec,
    SearcherSpec,
    ServiceSpec,
    TrainableAdapterSpec,
)

__all__ = ["KINDS", "Kind", "PluginKind", "kind_of"]

Kind = Literal["scheduler", "searcher", "logger", "executor", "trainable-adapter", "command", "service"]


@dataclass(frozen=True)
class PluginKind:
    """One kind of plugin.

    Attributes:
        name: the word used in messages and ``tune-core plugins`` (``"scheduler"``).
        hook: the registration hook that yields its records (``"tune_schedulers"``).
        record: the record type the hook yields.
        products: what a record's factory must make: names in ``tune_core.interfaces`` (none for
            trainable adapters, which have no factory).
        default: the name used when the user names none.
    """

    name: Kind
    hook: str
    record: type[PluginSpec]
    products: tuple[str, ...] = ()
    default: str | None = None

    def product_types(self) -> tuple[type, ...]:
        from tune_core import interfaces

        return tuple(getattr(interfaces, name) for name in self.products)

    def product_names(self) -> str:
        return " or ".join(self.products)


KINDS: dict[Kind, PluginKind] = {
    kind.name: kind
    for kind in (
        PluginKind("scheduler", "tune_schedulers", SchedulerSpec, ("TrialScheduler",), "fifo"),
        PluginKind("searcher", "tune_searchers", SearcherSpec, ("SearchAlgorithm", "Searcher"), "basic"),
        PluginKind("logger", "tune_loggers", LoggerSpec, ("TrialLogger",)),
        PluginKind("executor", "tune_executors", ExecutorSpec, ("Executor",), "local"),
        PluginKind("trainable-adapter", "tune_trainable_adapters", TrainableAdapterSpec),
        PluginKind("command", "tune_commands", CommandSpec),
        PluginKind("service", "tune_services", ServiceSpec, ("Service",)),
    )
}


def kind_of(record: PluginSpec) -> PluginKind:
    """The kind a registration record belongs to."""
    return next(kind for kind in KINDS.values() if type(record) is kind.record)
