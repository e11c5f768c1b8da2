"""Typed lookups by name: the registration hooks collected one plugin at a time, resolved, built.

The runner asks here (``get_scheduler("asha", grace_period=5)``, ``logger_specs(None)``,
``observer_hooks()``) and receives ready objects; it never touches pluggy. Every record is kept beside
the plugin it came from, so each message can name the distribution and version.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError, closest, unknown_name_error
from tune_core.plugins.errors import PluginError, add_note, conflict_error, describe_exception
from tune_core.plugins.kinds import KINDS, Kind, kind_of
from tune_core.plugins.manager import TunePluginManager, get_plugin_manager
from tune_core.plugins.provenance import remember
from tune_core.plugins.types import (
    LazyFactory,
    LoggerSpec,
    PluginSpec,
    Registered,
    check_name,
)

if TYPE_CHECKING:
    from tune_core.interfaces import (
        Executor,
        SearchAlgorithm,
        Searcher,
        TrialLogger,
        TrialScheduler,
    )

__all__ = [
    "DEFAULT_EXECUTOR",
    "DEFAULT_SCHEDULER",
    "DEFAULT_SEARCHER",
    "adapt_trainable",
    "available",
    "build",
    "get_executor",
    "get_logger",
    "get_scheduler",
    "get_searcher",
    "instantiate",
    "logger_specs",
    "lookup",
    "records",
]

DEFAULT_SCHEDULER = KINDS["scheduler"].default
DEFAULT_SEARCHER = KINDS["searcher"].default
DEFAULT_EXECUTOR = KINDS["executor"].default


def records(kind: Kind, pm: TunePluginManager | None = None) -> list[Registered[Any]]:
    """Every record of ``kind`` from every plugin, in registration order, duplicates included.

    A plugin whose hook raises, or yields something other than the right record type, is reported
    (warning, or ``PluginError`` when strict) and contributes nothing.
    """
    pm = pm or get_plugin_manager()
    hook_name, spec_type = KINDS[kind].hook, KINDS[kind].record
    found: list[Registered[Any]] = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        source = pm.source_of(impl.plugin_name)
        if impl.wrapper or impl.hookwrapper:
            pm.report(source, "bad hook in", f"{hook_name} cannot be a wrapper")
            continue
        try:
            items = list(impl.function() or ())
        except Exception as exc:
            pm.report(source, "error in", f"{hook_name}() raised {describe_exception(exc)}")
            continue
        problem = next(
            (_bad_record(item, spec_type) for item in items if _bad_record(item, spec_type)), None
        )
        if problem:
            pm.report(source, "bad record from", f"{hook_name}() yielded {problem}")
            continue
        pm.trace(hook_name, impl.plugin_name, "->", [item.name for item in items])
        found.extend(Registered(item, source) for item in items)
    return found


def _bad_record(item: object, spec_type: type[PluginSpec]) -> str | None:
    if not isinstance(item, spec_type):
        return f"{item!r} of type {type(item).__name__}, expected {spec_type.__name__}"
    try:
        check_name(item.name)
    except ValueError as exc:
        return str(exc)
    return None


def available(kind: Kind, pm: TunePluginManager | None = None) -> dict[str, Registered[Any]]:
    """The names of ``kind`` users can ask for, sorted, each with its record and source.

    Raises:
        PluginError: two plugins (or one plugin twice) provide the same name.
    """
    by_name: dict[str, list[Registered[Any]]] = {}
    for reg in records(kind, pm):
        by_name.setdefault(reg.name, []).append(reg)
    for name, regs in by_name.items():
        if len(regs) > 1:
            raise conflict_error(kind, name, [r.source for r in regs])
    return {name: regs[0] for name, regs in sorted(by_name.items())}


def lookup(kind: Kind, name: str) -> Registered[Any]:
    if not isinstance(name, str):
        raise TuneError(f"a {kind} name must be a string, got {name!r}")
    found = available(kind)
    key = name.strip().lower().replace("_", "-")
    if key in found:
        return found[key]
    # The seed's spellings: "MedianStopping", "AsyncHyperBand", "FIFO" name "median-stopping" etc.
    squashed = {n.replace("-", ""): reg for n, reg in found.items()}
    reg = squashed.get(key.replace("-", ""))
    if reg is None:
        distribution = FIRST_PARTY.get(kind, {}).get(key.replace("-", ""))
        if distribution is not None:
            raise TuneError(
                f"{kind} {name!r} comes with the {distribution} plugin, which is not installed: "
                f"pip install {distribution} (from a tune-core checkout: pip install plugins/{distribution})"
            )
        raise unknown_name_error(kind, name, found)
    return reg


#: Names the project's own plugins register, by kind, so that using one before installing it
#: says what to install (keys without dashes, as the seed spelled them too: "AsyncHyperBand").
FIRST_PARTY: dict[str, dict[str, str]] = {
    "scheduler": {"hyperband": "tune-hyperband", "asha": "tune-hyperband", "asynchyperband": "tune-hyperband",
                  "pbt": "tune-pbt", "populationbasedtraining": "tune-pbt", "hyperopt": "tune-hyperopt"},
    "searcher": {"hyperopt": "tune-hyperopt", "optuna": "tune-optuna"},
    "logger": {"tensorboard": "tune-tensorboard", "viskit": "tune-viskit"},
    "executor": {"ray": "tune-ray"},
    "service": {"server": "tune-server"},
}


def _check_config(kind: str, reg: Registered[Any], factory: Any, config: dict[str, Any]) -> None:
    """Turn bad keyword arguments into a ``TuneError`` naming the plugin and the bad key."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some C callables have no signature; let the call decide
        return
    params = signature.parameters
    named = [p for p, v in params.items() if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
    where = f"{kind} {reg.name!r} ({reg.source.label})"
    if not any(v.kind is v.VAR_KEYWORD for v in params.values()):
        unknown = [key for key in config if key not in named]
        if unknown:
            hint = closest(unknown[0], named)
            raise TuneError(
                f"{where} got an unexpected argument {unknown[0]!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; it accepts: {', '.join(named) or '(no arguments)'}"
            )
    try:
        signature.bind(**config)
    except TypeError as exc:
        raise TuneError(f"{where}: {exc}") from None


def instantiate(reg: Registered[Any], /, **config: Any) -> Any:
    """Call a record's factory with ``config``, checking the arguments and the product's type.

    Raises:
        TuneError: bad argument names, a record without a factory (a trainable adapter: use
            ``adapt_trainable``), a factory that cannot be imported, or a product that does not
            implement the interface its kind requires. Any other error from the factory is re-raised
            with a note naming the plugin and its distribution.
    """
    kind = kind_of(reg.spec)
    where = f"{kind.name} {reg.name!r} ({reg.source.label})"
    if not kind.products:
        raise TuneError(f"{where} has nothing to instantiate: a {kind.name} is applied to an object "
                        "with adapt_trainable(obj), which the runner does for an experiment's `run`")
    factory = reg.spec.factory
    if isinstance(factory, LazyFactory):
        try:
            factory = factory.resolve()
        except Exception as exc:
            raise PluginError(
                f"{where}: cannot import {factory.target}: {describe_exception(exc)}"
            ) from exc
    _check_config(kind.name, reg, factory, config)
    try:
        product = factory(**config)
    except Exception as exc:
        add_note(exc, f"raised while creating {where} from plugin {reg.source.plugin!r}")
        raise
    if not isinstance(product, kind.product_types()):
        raise PluginError(f"{where} made a {type(product).__name__}, which is not a {kind.product_names()}")
    remember(product, reg)
    return product


def build(kind: Kind, name: str | None, /, **config: Any) -> Any:
    """Build the ``kind`` registered as ``name`` (its kind's default when ``None``)."""
    default = KINDS[kind].default
    if name is None and kind == "executor":
        default = _executor_wanted_now() or default
    chosen = name if name is not None else default
    if chosen is None:
        raise TuneError(f"no {kind} named, and {kind}s have no default")
    return instantiate(lookup(kind, chosen), **config)


def _executor_wanted_now() -> str | None:
    """The executor whose ``default_when`` says it is the default now (e.g. after ``ray.init``)."""
    for name, reg in available("executor").items():
        when = getattr(reg.spec, "default_when", None)
        if when is None:
            continue
        try:
            wanted = when()
        except Exception as exc:
            raise TuneError(f"executor {name!r} ({reg.source.plugin}): its `default_when` raised "
                            f"{type(exc).__name__}: {exc}") from exc
        if wanted:
            return name
    return None


def get_scheduler(name: str, /, **config: Any) -> TrialScheduler:
    """Build the scheduler registered as ``name`` (``"fifo"``, ``"median-stopping"``, ``"asha"``)."""
    scheduler: TrialScheduler = instantiate(lookup("scheduler", name), **config)
    return scheduler


def get_searcher(name: str, /, **config: Any) -> SearchAlgorithm | Searcher:
    """Build the search algorithm registered as ``name`` (``"basic"`` is grid/random variants)."""
    searcher: SearchAlgorithm | Searcher = instantiate(lookup("searcher", name), **config)
    return searcher


def get_executor(name: str, /, **config: Any) -> Executor:
    """Build the executor registered as ``name`` (``"local"`` is the default)."""
    executor: Executor = instantiate(lookup("executor", name), **config)
    return executor


def get_logger(name: str, /, **config: Any) -> TrialLogger:
    """Build the logger registered as ``name`` (``"json"``, ``"csv"``, ...)."""
    logger: TrialLogger = instantiate(lookup("logger", name), **config)
    return logger


def logger_specs(names: Sequence[str] | None = None) -> list[Registered[LoggerSpec]]:
    """The loggers to run: those named, in order, or (``names=None``) every ``default_on`` one."""
    if names is None:
        return [reg for reg in available("logger").values() if reg.spec.default_on]
    if isinstance(names, str):
        raise TuneError(f"loggers must be a list of names, got the string {names!r}")
    return [lookup("logger", name) for name in names]


def adapt_trainable(obj: Any, pm: TunePluginManager | None = None) -> Any | None:
    """What the first adapter whose ``matches(obj)`` is true makes of ``obj``, or ``None``."""
    pm = pm or get_plugin_manager()
    for reg in available("trainable-adapter", pm).values():
        try:
            matched = reg.spec.matches(obj)
        except Exception as exc:
            pm.report(
                reg.source,
                "error in",
                f"trainable adapter {reg.name!r} matches() raised {describe_exception(exc)}",
            )
            continue
        if matched:
            try:
                adapted = reg.spec.adapt(obj)
            except Exception as exc:
                add_note(exc, f"raised by trainable adapter {reg.name!r} ({reg.source.label})")
                raise
            if adapted is None:
                raise TuneError(f"trainable adapter {reg.name!r} ({reg.source.label}) matched "
                                f"{type(obj).__name__} but its adapt() returned None; it must return a "
                                "function trainable or a Trainable subclass")
            return adapted
    return None
