"""One test per hook (``test_hook_<name>``), observer dispatch, and the docs/test meta-tests."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tune_core import interfaces
from tune_core.plugins import (
    ExecutorSpec,
    LoggerSpec,
    SchedulerSpec,
    SearcherSpec,
    TrainableAdapterSpec,
    hookimpl,
    hookspecs,
)
from tune_core.plugins.errors import PluginWarning
from tune_core.plugins.manager import TunePluginManager
from tune_core.plugins.observers import OBSERVER_HOOKS, observer_hooks
from tune_core.plugins.registry import (
    adapt_trainable,
    get_executor,
    get_logger,
    get_scheduler,
    get_searcher,
)
from tune_core.trial import Trial

pytest_plugins = ["tune_core.plugins.testing"]

REPO = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    n for n in vars(hookspecs) if n.startswith("tune_") and callable(getattr(hookspecs, n))
)
Register = Callable[..., str]
Events = list[tuple[str, dict[str, Any]]]


def hook_signature(name: str) -> str:
    """``tune_on_trial_result(trial: Trial, result: dict[str, Any]) -> None``, as written in the spec."""
    function = getattr(hookspecs, name)
    params = ", ".join(
        f"{p.name}: {p.annotation}" for p in inspect.signature(function).parameters.values()
    )
    return f"{name}({params}) -> {function.__annotations__['return']}"


# --- registration hooks ---------------------------------------------------------------------------


class Sched(interfaces.TrialScheduler):
    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return None


class Search(interfaces.Searcher):
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        return {"lr": 0.1}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        pass


class Log(interfaces.TrialLogger):
    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lines: list[str] = []

    def on_trial_result(self, trial: Any, result: dict[str, Any]) -> None:
        self.lines.append(f"{self.prefix}{result}")


class Exec(interfaces.Executor):
    def total_resources(self) -> Any:
        return None

    def start_trial(self, launch: Any) -> str:
        return "here"

    def continue_trial(self, trial_id: str, decision_point: Any) -> None: ...
    def stop_trial(self, trial_id: str) -> None: ...
    def poll(self, timeout: float) -> list[Any]:
        return []

    def shutdown(self) -> None: ...


class Provider:
    @hookimpl
    def tune_schedulers(self) -> Iterator[SchedulerSpec]:
        yield SchedulerSpec(name="mine", factory=Sched)

    @hookimpl
    def tune_searchers(self) -> Iterator[SearcherSpec]:
        yield SearcherSpec(name="mine", factory=Search)

    @hookimpl
    def tune_loggers(self) -> Iterator[LoggerSpec]:
        yield LoggerSpec(name="mine", factory=Log)

    @hookimpl
    def tune_executors(self) -> Iterator[ExecutorSpec]:
        yield ExecutorSpec(name="mine", factory=Exec)

    @hookimpl
    def tune_trainable_adapters(self) -> Iterator[TrainableAdapterSpec]:
        yield TrainableAdapterSpec(
            name="mine", matches=lambda o: o == "mine", adapt=lambda o: Sched
        )


def test_hook_tune_schedulers(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    assert isinstance(get_scheduler("mine"), Sched)


def test_hook_tune_searchers(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    assert get_searcher("mine").suggest("t1") == {"lr": 0.1}  # type: ignore[union-attr]


def test_hook_tune_loggers(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    logger = get_logger("mine", prefix="> ")
    logger.on_trial_result(None, {"a": 1})  # type: ignore[arg-type]
    assert logger.lines == ["> {'a': 1}"]  # type: ignore[attr-defined]


def test_hook_tune_executors(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    assert get_executor("mine").start_trial(None) == "here"  # type: ignore[arg-type]


def test_hook_tune_trainable_adapters(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    assert adapt_trainable("mine") is Sched
    assert adapt_trainable("yours") is None


# --- observer hooks ------------------------------------------------------------------------------


@pytest.fixture
def trial() -> Trial:
    return Trial("train_func", config={"lr": 0.1})


def test_hook_tune_on_experiment_start(recorded_events: Events) -> None:
    observer_hooks().notify("tune_on_experiment_start", experiments=["e1"])
    assert recorded_events == [("tune_on_experiment_start", {"experiments": ["e1"]})]


def test_hook_tune_on_trial_start(recorded_events: Events, trial: Trial) -> None:
    observer_hooks().notify("tune_on_trial_start", trial=trial)
    assert recorded_events == [("tune_on_trial_start", {"trial": trial})]


def test_hook_tune_on_trial_result(recorded_events: Events, trial: Trial) -> None:
    observer_hooks().notify("tune_on_trial_result", trial=trial, result={"acc": 0.5})
    assert recorded_events == [("tune_on_trial_result", {"trial": trial, "result": {"acc": 0.5}})]


def test_hook_tune_on_trial_complete(recorded_events: Events, trial: Trial) -> None:
    observer_hooks().notify("tune_on_trial_complete", trial=trial)
    assert recorded_events == [("tune_on_trial_complete", {"trial": trial})]


def test_hook_tune_on_trial_error(recorded_events: Events, trial: Trial) -> None:
    observer_hooks().notify(
        "tune_on_trial_error", trial=trial, error="Traceback ...\nValueError: x"
    )
    assert recorded_events == [
        ("tune_on_trial_error", {"trial": trial, "error": "Traceback ...\nValueError: x"})
    ]


def test_hook_tune_on_experiment_end(recorded_events: Events, trial: Trial) -> None:
    observer_hooks().notify("tune_on_experiment_end", trials=[trial])
    assert recorded_events == [("tune_on_experiment_end", {"trials": [trial]})]


def test_unused_observer_hooks_cost_nothing(tune_plugin_manager: TunePluginManager) -> None:
    observers = observer_hooks()
    assert not observers and "tune_on_trial_result" not in observers
    observers.notify("tune_on_trial_result", trial=None, result={})  # returns at once


def test_observer_may_take_a_subset_of_the_arguments(
    register_plugin: Register, trial: Trial
) -> None:
    seen: list[Any] = []

    class OnlyResult:
        @hookimpl
        def tune_on_trial_result(self, result: dict[str, Any]) -> None:
            seen.append(result)

    register_plugin(OnlyResult(), name="only-result")
    observers = observer_hooks()
    assert "tune_on_trial_result" in observers and "tune_on_trial_start" not in observers
    observers.notify("tune_on_trial_result", trial=trial, result={"x": 1})
    assert seen == [{"x": 1}]


class Failing:
    @hookimpl
    def tune_on_trial_start(self, trial: Trial) -> None:
        raise RuntimeError("disk full")


def test_failing_observer_warns_and_the_others_still_hear(
    register_plugin: Register,
    recorded_events: Events,
    tune_plugin_manager: TunePluginManager,
    trial: Trial,
) -> None:
    register_plugin(Failing(), name="failing")
    tune_plugin_manager.strict = False
    with pytest.warns(
        PluginWarning,
        match=r"error in plugin 'failing' \(registered directly\): tune_on_trial_start\(\) raised RuntimeError: disk full",
    ):
        observer_hooks().notify("tune_on_trial_start", trial=trial)
    assert recorded_events == [("tune_on_trial_start", {"trial": trial})]


def test_failing_observer_raises_with_a_note_when_strict(
    register_plugin: Register, trial: Trial
) -> None:
    register_plugin(Failing(), name="failing")
    with pytest.raises(RuntimeError, match="disk full") as info:
        observer_hooks().notify("tune_on_trial_start", trial=trial)
    assert info.value.__notes__ == [
        "raised in tune_on_trial_start of plugin 'failing' (registered directly)"
    ]


def test_wrapper_observers_go_through_pluggy(
    register_plugin: Register, recorded_events: Events, trial: Trial
) -> None:
    order: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def tune_on_trial_start(self, trial: Trial) -> Iterator[None]:
            order.append("before")
            yield
            order.append("after")

    register_plugin(Wrapper(), name="wrapper")
    observer_hooks().notify("tune_on_trial_start", trial=trial)
    assert order == ["before", "after"] and len(recorded_events) == 1


# --- meta-tests ----------------------------------------------------------------------------------


def test_hook_lists_agree() -> None:
    assert set(HOOKS) == set(hookspecs.REGISTRATION_HOOKS) | set(OBSERVER_HOOKS)
    assert all(n.startswith("tune_on_") for n in OBSERVER_HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    docs = (REPO / "docs" / "plugins" / "hooks.md").read_text()
    assert hook_signature(name) in docs, f"docs/plugins/hooks.md lacks `{hook_signature(name)}`"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    tests = "".join(p.read_text() for p in (REPO / "tests").glob("test_plugins_*.py"))
    assert re.search(rf"def test_hook_{name}\(", tests), (
        f"no test_hook_{name} in tests/test_plugins_*.py"
    )


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_docstring_follows_the_template(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "Example:" in doc and ".. versionadded:: 0.1" in doc
    assert ("Returns:" in doc) if name in hookspecs.REGISTRATION_HOOKS else ("Args:" in doc)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    code = textwrap.dedent(doc.split(".. code-block:: python", 1)[1].split(".. versionadded::")[0])
    namespace: dict[str, Any] = {}
    exec(compile(code, f"<example of {name}>", "exec"), namespace)
    function = namespace[name]
    trial = Trial("train_func", config={"x": 2})
    trial.last_result = {"mean_accuracy": 0.995}
    samples = {
        "experiments": [SimpleNamespace(name="exp")],
        "trial": trial,
        "result": {"mean_accuracy": 0.995},
        "error": "Traceback (most recent call last):\nValueError: bad",
        "trials": [trial],
        "will_retry": False,
    }
    produced = function(**{p: samples[p] for p in inspect.signature(function).parameters})
    if name in hookspecs.REGISTRATION_HOOKS:
        records = list(produced)
        assert records and all(type(r).__name__.endswith("Spec") for r in records)
    else:
        assert produced is None and capsys.readouterr().out
