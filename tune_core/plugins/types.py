"""Registration records: the frozen dataclasses a registration hook yields, and their provenance.

A plugin yields ``SchedulerSpec(name="asha", factory=..., description=...)``; the manager keeps where it
came from *beside* the record, as ``Registered(spec, source=PluginSource(...))``. Nothing here imports
the classes a factory builds, so a plugin module stays cheap to import; ``lazy("pkg.mod:Class")``
defers even the import of the plugin's own class until the user asks for it by name.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from tune_core.interfaces import (
        Executor,
        SearchAlgorithm,
        Searcher,
        TrialLogger,
        TrialScheduler,
    )

__all__ = [
    "ExecutorSpec",
    "LazyFactory",
    "LoggerSpec",
    "PluginSource",
    "PluginSpec",
    "Registered",
    "SchedulerSpec",
    "SearcherSpec",
    "TrainableAdapterSpec",
    "lazy",
]

_KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def check_name(name: object) -> str:
    """Return ``name`` if it is lower-case kebab case (``median-stopping``), else raise ``ValueError``."""
    if not isinstance(name, str) or not _KEBAB.fullmatch(name):
        raise ValueError(
            f"invalid plugin name {name!r}: names are lower-case kebab case, e.g. 'median-stopping'"
        )
    return name


@dataclass(frozen=True, kw_only=True)
class PluginSpec:
    """What every registration record has: a kebab-case ``name`` and a one-line ``description``."""

    name: str
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)


@dataclass(frozen=True, kw_only=True)
class SchedulerSpec(PluginSpec):
    """A trial scheduler chosen by name: ``factory(**config)`` returns a ``TrialScheduler``."""

    factory: Callable[..., TrialScheduler]


@dataclass(frozen=True, kw_only=True)
class SearcherSpec(PluginSpec):
    """A search algorithm chosen by name: ``factory(**config)`` returns a ``SearchAlgorithm`` or ``Searcher``."""

    factory: Callable[..., SearchAlgorithm | Searcher]


@dataclass(frozen=True, kw_only=True)
class LoggerSpec(PluginSpec):
    """A trial logger: ``factory(**config)`` returns a ``TrialLogger``; ``default_on`` loggers run unasked."""

    factory: Callable[..., TrialLogger]
    default_on: bool = False


@dataclass(frozen=True, kw_only=True)
class ExecutorSpec(PluginSpec):
    """Where trials run: ``factory(**config)`` returns an ``Executor``.

    ``default_when``: when the user names no executor and this returns True, this executor is used
    instead of ``local`` (Ray's: a Ray session is already started in this process). Asked at every
    run: keep it cheap, and import nothing heavy (look in ``sys.modules``).
    """

    factory: Callable[..., Executor]
    default_when: Callable[[], bool] | None = None


@dataclass(frozen=True, kw_only=True)
class TrainableAdapterSpec(PluginSpec):
    """Turns a framework object into something the runner can run.

    ``matches(obj)`` says whether this adapter handles ``obj``; ``adapt(obj)`` returns a function
    trainable ``f(config, reporter)`` or a ``Trainable`` subclass.
    """

    matches: Callable[[Any], bool]
    adapt: Callable[[Any], Any]


@dataclass(frozen=True, kw_only=True)
class ServiceSpec(PluginSpec):
    """Something that runs beside an experiment (the Client API server): ``factory(control, **config)``
    returns a ``Service``; ``run_experiments(..., with_server=True)`` starts the one named ``server``."""

    factory: Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class CommandSpec(PluginSpec):
    """A ``tune-core`` subcommand (``tune-core <name> ...``): ``add_arguments(parser)`` declares its
    arguments on its ``argparse`` parser, ``run(args)`` runs it and returns the exit status (``None``
    is 0). ``description`` is its line in ``tune-core --help``. Either may be ``lazy("pkg.mod:func")``,
    so that ``tune-core --help`` imports nothing heavy. A ``TuneError`` it raises is one line on stderr.
    """

    add_arguments: Callable[[Any], None]
    run: Callable[[Any], int | None]


SpecT = TypeVar("SpecT", bound=PluginSpec)


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin came from.

    Attributes:
        plugin: the name it is registered under (the entry-point name, or the module name of a
            built-in such as ``tune_core.builtin.fifo``).
        dist: distribution name (``tune-asha``), or ``None`` for an object registered directly.
        version: distribution version.
        entry_point: entry-point name in the ``tune_core`` group, or ``None``.
        builtin: shipped inside tune-core itself.
    """

    plugin: str
    dist: str | None = None
    version: str | None = None
    entry_point: str | None = None
    builtin: bool = False

    @property
    def label(self) -> str:
        """``tune-asha 0.3.1``, as used in every message about this plugin."""
        if self.dist is None:
            return "registered directly"
        text = f"{self.dist} {self.version}" if self.version else self.dist
        return f"{text}, built-in" if self.builtin else text


@dataclass(frozen=True)
class Registered(Generic[SpecT]):
    """A registration record together with the plugin that yielded it."""

    spec: SpecT
    source: PluginSource

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class LazyFactory:
    """A factory named by import path, imported only when called (or ``resolve``-d).

    Example:
        ``SchedulerSpec(name="asha", factory=lazy("tune_asha.scheduler:ASHAScheduler"))``
    """

    target: str

    def __post_init__(self) -> None:
        module, _, attr = self.target.partition(":")
        if not module or not attr:
            raise ValueError(
                f"lazy factory target must look like 'package.module:Name', got {self.target!r}"
            )

    def resolve(self) -> Callable[..., Any]:
        """Import and return the real factory."""
        module, _, attr = self.target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


def lazy(target: str) -> LazyFactory:
    """A factory for ``"package.module:Name"`` that imports it only when first used."""
    return LazyFactory(target)
