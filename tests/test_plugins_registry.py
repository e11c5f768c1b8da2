"""Lookups by name: unknown names, conflicts, bad arguments, factory products, loggers and adapters."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tune_core.errors import TuneError
from tune_core.interfaces import TrialScheduler
from tune_core.plugins import (
    LoggerSpec,
    PluginSource,
    SchedulerSpec,
    TrainableAdapterSpec,
    hookimpl,
    lazy,
)
from tune_core.plugins.errors import PluginError
from tune_core.plugins.manager import TunePluginManager
from tune_core.plugins.registry import (
    adapt_trainable,
    available,
    get_executor,
    get_logger,
    get_scheduler,
    get_searcher,
    logger_specs,
)

pytest_plugins = ["tune_core.plugins.testing"]

Register = Callable[..., str]


class Threshold(TrialScheduler):
    def __init__(self, metric: str | None = None, threshold: float = 0.0) -> None:
        self.metric = metric
        if not isinstance(threshold, (int, float)):
            raise TypeError(f"threshold must be a number, got {threshold!r}")
        self.threshold = threshold

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return None


class Schedulers:
    """A plugin object providing the given scheduler specs."""

    def __init__(self, *specs: SchedulerSpec) -> None:
        self.specs = specs

    @hookimpl
    def tune_schedulers(self) -> Iterator[SchedulerSpec]:
        yield from self.specs


def test_unknown_scheduler_lists_the_available_ones(tune_plugin_manager: TunePluginManager) -> None:
    with pytest.raises(
        TuneError,
        match=r"unknown scheduler 'fifoo'; available: fifo, median-stopping \(did you mean 'fifo'\?\)",
    ):
        get_scheduler("fifoo")


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (get_searcher, r"unknown searcher 'grid'; available: basic"),
        (get_executor, r"unknown executor 'grid'; available: local"),
        (get_logger, r"unknown logger 'grid'; available: csv, json"),
    ],
)
def test_unknown_names_of_every_kind(
    tune_plugin_manager: TunePluginManager, lookup: Any, message: str
) -> None:
    with pytest.raises(TuneError, match=message):
        lookup("grid")


def test_plugin_scheduler_is_built_by_name(register_plugin: Register) -> None:
    register_plugin(Schedulers(SchedulerSpec(name="threshold", factory=Threshold)), name="thr")
    scheduler = get_scheduler("threshold", metric="acc", threshold=0.5)
    assert isinstance(scheduler, Threshold) and scheduler.threshold == 0.5
    assert isinstance(get_scheduler("THRESHOLD"), Threshold)  # names are case- and _/- insensitive


def test_bad_argument_names_the_plugin_and_the_key(register_plugin: Register) -> None:
    register_plugin(Schedulers(SchedulerSpec(name="threshold", factory=Threshold)), name="thr")
    with pytest.raises(
        TuneError,
        match=r"scheduler 'threshold' \(registered directly\) got an unexpected argument 'treshold' "
        r"\(did you mean 'threshold'\?\); it accepts: metric, threshold",
    ):
        get_scheduler("threshold", treshold=1)


def test_missing_required_argument(register_plugin: Register) -> None:
    def needs_metric(metric: str) -> Threshold:
        return Threshold(metric)

    register_plugin(Schedulers(SchedulerSpec(name="needy", factory=needs_metric)), name="needy")
    with pytest.raises(
        TuneError,
        match=r"scheduler 'needy' \(registered directly\): missing a required argument: 'metric'",
    ):
        get_scheduler("needy")


def test_error_inside_the_factory_gets_a_note(register_plugin: Register) -> None:
    register_plugin(Schedulers(SchedulerSpec(name="threshold", factory=Threshold)), name="thr")
    with pytest.raises(TypeError, match="threshold must be a number") as info:
        get_scheduler("threshold", threshold="high")
    assert (
        "raised while creating scheduler 'threshold' (registered directly) from plugin 'thr'"
        in info.value.__notes__
    )


def test_factory_must_make_the_right_interface(register_plugin: Register) -> None:
    register_plugin(Schedulers(SchedulerSpec(name="not-one", factory=dict)), name="wrong")
    with pytest.raises(
        PluginError,
        match=r"scheduler 'not-one' \(registered directly\) made a dict, which is not a TrialScheduler",
    ):
        get_scheduler("not-one")


def test_lazy_factory_that_cannot_import(register_plugin: Register) -> None:
    spec = SchedulerSpec(name="gone", factory=lazy("tune_core_no_such_module:Sched"))
    register_plugin(Schedulers(spec), name="gone")
    with pytest.raises(
        PluginError,
        match=r"scheduler 'gone' .*cannot import tune_core_no_such_module:Sched: ModuleNotFoundError",
    ):
        get_scheduler("gone")


def test_conflict_names_both_distributions(tune_plugin_manager: TunePluginManager) -> None:
    spec = SchedulerSpec(name="asha", factory=Threshold)
    tune_plugin_manager.register(
        Schedulers(spec),
        "asha",
        source=PluginSource("asha", "tune-asha", "0.3.1", entry_point="asha"),
    )
    tune_plugin_manager.register(
        Schedulers(spec),
        "contrib",
        source=PluginSource("contrib", "tune-contrib", "1.2.0", entry_point="contrib"),
    )
    with pytest.raises(
        PluginError,
        match=r"scheduler 'asha' is provided by tune-asha 0\.3\.1 and tune-contrib 1\.2\.0",
    ):
        get_scheduler("asha")


def test_conflict_with_a_builtin_name(register_plugin: Register) -> None:
    register_plugin(Schedulers(SchedulerSpec(name="fifo", factory=Threshold)), name="mine")
    with pytest.raises(
        PluginError,
        match=r"scheduler 'fifo' is provided by tune-core .*built-in \(plugin 'tune_core.builtin.fifo'\) "
        r"and registered directly \(plugin 'mine'\)",
    ):
        available("scheduler")


def test_one_plugin_yielding_a_name_twice(register_plugin: Register) -> None:
    spec = SchedulerSpec(name="twice", factory=Threshold)
    register_plugin(Schedulers(spec, spec), name="twice")
    with pytest.raises(
        PluginError, match=r"scheduler 'twice' is provided twice by registered directly"
    ):
        available("scheduler")


def test_logger_specs_default_on_and_by_name(register_plugin: Register) -> None:
    class Loggers:
        @hookimpl
        def tune_loggers(self) -> Iterator[LoggerSpec]:
            yield LoggerSpec(name="tensorboard", factory=dict)
            yield LoggerSpec(name="always", factory=dict, default_on=True)

    register_plugin(Loggers(), name="loggers")
    assert [r.name for r in logger_specs(None)] == ["always", "csv", "json"]
    assert [r.name for r in logger_specs(["tensorboard", "csv"])] == ["tensorboard", "csv"]
    assert logger_specs([]) == []
    with pytest.raises(
        TuneError, match=r"unknown logger 'tensorbord'; available: always, csv, json, tensorboard"
    ):
        logger_specs(["tensorbord"])
    with pytest.raises(TuneError, match="must be a list of names"):
        logger_specs("csv")


def test_adapt_trainable(register_plugin: Register) -> None:
    def adapt(obj: Any) -> Any:
        return lambda config, reporter: reporter(value=obj.value)

    class Adapters:
        @hookimpl
        def tune_trainable_adapters(self) -> Iterator[TrainableAdapterSpec]:
            yield TrainableAdapterSpec(
                name="boxed", matches=lambda o: hasattr(o, "value"), adapt=adapt
            )

    class Box:
        value = 3

    assert adapt_trainable(Box()) is None  # no adapter yet
    register_plugin(Adapters(), name="adapters")
    seen: dict[str, Any] = {}
    adapt_trainable(Box())({}, lambda **kw: seen.update(kw))
    assert seen == {"value": 3}
    assert adapt_trainable(object()) is None


def test_adapter_whose_matches_raises_is_reported(register_plugin: Register) -> None:
    class Adapters:
        @hookimpl
        def tune_trainable_adapters(self) -> Iterator[TrainableAdapterSpec]:
            yield TrainableAdapterSpec(name="fussy", matches=lambda o: 1 / 0, adapt=lambda o: o)

    register_plugin(Adapters(), name="fussy")
    with pytest.raises(
        PluginError,
        match=r"error in plugin 'fussy' \(registered directly\): trainable adapter 'fussy' matches\(\) raised ZeroDivisionError",
    ):
        adapt_trainable(object())


BUILTINS = [
    ("scheduler", "fifo", "tune_core.schedulers.fifo", "FIFOScheduler"),
    ("scheduler", "median-stopping", "tune_core.schedulers.median_stopping", "MedianStoppingRule"),
    ("searcher", "basic", "tune_core.search.basic", "BasicVariantGenerator"),
    ("logger", "json", "tune_core.loggers.json", "JsonLogger"),
    ("logger", "csv", "tune_core.loggers.csv", "CSVLogger"),
    ("executor", "local", "tune_core.executors.local", "LocalExecutor"),
]


@pytest.mark.parametrize(("kind", "name", "module", "cls"), BUILTINS)
def test_builtin_factories_point_at_the_real_classes(
    tune_plugin_manager: TunePluginManager, kind: Any, name: str, module: str, cls: str
) -> None:
    factory = available(kind)[name].spec.factory
    assert factory.resolve() is getattr(importlib.import_module(module), cls)


def test_builtin_schedulers_are_built(tune_plugin_manager: TunePluginManager) -> None:
    from tune_core.schedulers.fifo import FIFOScheduler
    from tune_core.schedulers.median_stopping import MedianStoppingRule

    assert isinstance(get_scheduler("fifo"), FIFOScheduler)
    assert isinstance(get_scheduler("median_stopping"), MedianStoppingRule)
