"""Registration records: kebab-case names, frozen keyword-only dataclasses, provenance, lazy factories."""

from __future__ import annotations

import dataclasses

import pytest

from tune_core.plugins import (
    ExecutorSpec,
    LoggerSpec,
    PluginSource,
    Registered,
    SchedulerSpec,
    TrainableAdapterSpec,
    lazy,
)
from tune_core.plugins.types import LazyFactory


@pytest.mark.parametrize("name", ["fifo", "median-stopping", "asha2", "a-b-c"])
def test_kebab_case_names_accepted(name: str) -> None:
    assert SchedulerSpec(name=name, factory=dict).name == name


@pytest.mark.parametrize(
    "name", ["ASHA", "median_stopping", "-x", "x-", "a--b", "", "2fast", "a b", None]
)
def test_other_names_rejected(name: object) -> None:
    with pytest.raises(ValueError, match="lower-case kebab case"):
        SchedulerSpec(name=name, factory=dict)  # type: ignore[arg-type]


def test_specs_are_frozen_and_keyword_only() -> None:
    spec = LoggerSpec(name="json", factory=dict)
    assert spec.default_on is False and spec.description == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "csv"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExecutorSpec("local", dict)  # type: ignore[misc]


def test_adapter_spec_has_matches_and_adapt() -> None:
    spec = TrainableAdapterSpec(name="upper", matches=lambda o: isinstance(o, str), adapt=str.upper)
    assert spec.matches("x") and spec.adapt("x") == "X"


def test_provenance_sits_beside_the_record() -> None:
    spec = SchedulerSpec(name="asha", factory=dict)
    source = PluginSource(plugin="asha", dist="tune-asha", version="0.3.1", entry_point="asha")
    reg = Registered(spec, source=source)
    assert reg.name == "asha" and reg.spec is spec
    assert source.label == "tune-asha 0.3.1"
    assert not hasattr(spec, "source")
    assert PluginSource(plugin="x").label == "registered directly"
    builtin = PluginSource(
        plugin="tune_core.builtin.fifo", dist="tune-core", version="0.1.0", builtin=True
    )
    assert builtin.label == "tune-core 0.1.0, built-in"


def test_lazy_factory_imports_only_when_called() -> None:
    factory = lazy("collections:OrderedDict")
    assert isinstance(factory, LazyFactory)
    assert factory.resolve().__name__ == "OrderedDict"
    assert factory(a=1) == {"a": 1}
    assert lazy("os.path:join.__name__").resolve() == "join"
    with pytest.raises(ValueError, match=r"package\.module:Name"):
        lazy("collections.OrderedDict")
    with pytest.raises(ModuleNotFoundError):
        lazy("no_such_module_xyz:Thing")()
