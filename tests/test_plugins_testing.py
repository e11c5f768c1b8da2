"""The plugin authors' test kit: ``assert_plugin_conforms`` and the fixtures, used as an author would."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tune_core.builtin import BUILTIN_PLUGINS
from tune_core.interfaces import TrialScheduler
from tune_core.plugins import LoggerSpec, SchedulerSpec, SearcherSpec, hookimpl, lazy
from tune_core.plugins.testing import assert_plugin_conforms

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = REPO / "tests" / "data" / "plugins" / "tune-example-scheduler" / "src"


class Sched(TrialScheduler):
    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return None


class Abstract(TrialScheduler):
    def choose_trial_to_run(self, runner: Any) -> Any:
        return None


def plugin(**hooks: Any) -> types.SimpleNamespace:
    """A plugin object with the given functions as attributes (as a module would have)."""
    return types.SimpleNamespace(__name__="test-plugin", **hooks)


@pytest.mark.parametrize("module", BUILTIN_PLUGINS)
def test_builtins_conform(module: str) -> None:
    assert_plugin_conforms(importlib.import_module(module))


def test_outside_example_plugin_conforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    module = importlib.import_module("tune_example_scheduler.plugin")
    try:
        assert_plugin_conforms(module)
    finally:
        for name in ("tune_example_scheduler.plugin", "tune_example_scheduler"):
            sys.modules.pop(name, None)


def test_quick_start_plugin_in_the_docs_conforms() -> None:
    readme = (REPO / "docs" / "plugins" / "README.md").read_text()
    code = re.search(r"`src/tune_threshold/plugin.py`:\n\n```python\n(.*?)```", readme, re.S)
    assert code, "the quick start lost its plugin module"
    assert len(code.group(1).splitlines()) <= 20
    module = types.ModuleType("tune_threshold_plugin")
    exec(compile(code.group(1), "quick-start", "exec"), module.__dict__)
    assert_plugin_conforms(module)
    scheduler = next(iter(module.tune_schedulers())).factory(threshold=0.8)
    assert scheduler.on_trial_result(None, None, {"mean_accuracy": 0.5}) == "STOP"


def _schedulers(*specs: Any) -> Any:
    @hookimpl
    def tune_schedulers() -> Iterator[Any]:
        yield from specs

    return tune_schedulers


@pytest.mark.parametrize(
    ("hooks", "problem"),
    [
        (
            {"tune_schedulrs": hookimpl(lambda: [])},
            "tune_schedulrs: unknown hook (did you mean 'tune_schedulers'?)",
        ),
        (
            {"tune_schedulers": lambda: []},
            "tune_schedulers: looks like a hook but is not decorated with @hookimpl",
        ),
        (
            {"tune_on_trial_result": hookimpl(lambda trial, outcome: None)},
            "tune_on_trial_result: argument 'outcome' is not in the spec",
        ),
        (
            {"tune_on_trial_result": hookimpl(lambda trial, result=None: None)},
            "tune_on_trial_result: argument 'result' has a default",
        ),
        (
            {"tune_schedulers": _schedulers(SearcherSpec(name="x", factory=Sched))},
            "tune_schedulers: yielded SearcherSpec, expected SchedulerSpec",
        ),
        (
            {
                "tune_schedulers": _schedulers(
                    SchedulerSpec(name="x", factory=Sched), SchedulerSpec(name="x", factory=Sched)
                )
            },
            "tune_schedulers: name 'x' yielded twice",
        ),
        (
            {"tune_schedulers": _schedulers(SchedulerSpec(name="x", factory=dict))},
            "scheduler 'x': factory dict is not a subclass of TrialScheduler",
        ),
        (
            {"tune_schedulers": _schedulers(SchedulerSpec(name="x", factory=Abstract))},
            "scheduler 'x': Abstract does not implement on_trial_result",
        ),
        (
            {"tune_schedulers": _schedulers(SchedulerSpec(name="x", factory=lambda: "nope"))},
            "scheduler 'x': factory() made a str, which is not a TrialScheduler",
        ),
        (
            {
                "tune_schedulers": _schedulers(
                    SchedulerSpec(name="x", factory=lazy("tune_core_missing:X"))
                )
            },
            "scheduler 'x': cannot import tune_core_missing:X: ModuleNotFoundError",
        ),
        (
            {
                "tune_loggers": hookimpl(
                    lambda: [LoggerSpec(name="x", factory=dict, default_on="yes")]
                )
            },  # type: ignore[arg-type]
            "tune_loggers: logger 'x' default_on must be a bool",
        ),
    ],
)
def test_conformance_problems_are_named(hooks: dict[str, Any], problem: str) -> None:
    with pytest.raises(AssertionError) as info:
        assert_plugin_conforms(plugin(**hooks))
    assert problem in str(info.value)
    assert str(info.value).startswith("plugin test-plugin does not conform:")


def test_function_factories_needing_arguments_are_not_called() -> None:
    def needs(metric: str) -> Sched:
        raise AssertionError("must not be called")

    assert_plugin_conforms(
        plugin(tune_schedulers=_schedulers(SchedulerSpec(name="x", factory=needs)))
    )
    with pytest.raises(AssertionError, match="made a str"):
        assert_plugin_conforms(
            plugin(tune_schedulers=_schedulers(SchedulerSpec(name="x", factory=lambda: "s")))
        )
    assert_plugin_conforms(
        plugin(tune_schedulers=_schedulers(SchedulerSpec(name="x", factory=lambda: "s"))),
        call_factories=False,
    )


AUTHOR_TESTS = """
    import pytest
    from tune_core.interfaces import TrialScheduler
    from tune_core.plugins import SchedulerSpec, hookimpl
    from tune_core.plugins.errors import PluginError
    from tune_core.plugins.manager import get_plugin_manager
    from tune_core.plugins.registry import available, get_scheduler

    pytest_plugins = ["tune_core.plugins.testing"]

    class Mine(TrialScheduler):
        def on_trial_result(self, runner, trial, result):
            return self.CONTINUE

        def choose_trial_to_run(self, runner):
            return None

    class Plugin:
        @hookimpl
        def tune_schedulers(self):
            yield SchedulerSpec(name="mine", factory=Mine)

    def test_registered_for_this_test(register_plugin):
        register_plugin(Plugin(), name="mine")
        assert isinstance(get_scheduler("mine"), Mine)

    def test_gone_in_the_next(tune_plugin_manager):
        assert get_plugin_manager() is tune_plugin_manager
        assert "mine" not in available("scheduler")
        assert all(n.startswith("tune_core.builtin.") for n, _ in tune_plugin_manager.list_name_plugin())

    def test_strict(register_plugin):
        class Typo:
            @hookimpl
            def tune_schedulrs(self):
                return []

        with pytest.raises(PluginError, match="unknown hook 'tune_schedulrs'"):
            register_plugin(Typo(), name="typo")

    def test_events(recorded_events):
        from tune_core.plugins.observers import observer_hooks
        observer_hooks().notify("tune_on_trial_start", trial="t")
        assert recorded_events == [("tune_on_trial_start", {"trial": "t"})]
"""


def test_fixtures_as_a_plugin_author_uses_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_author=textwrap.dedent(AUTHOR_TESTS))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_assert_imports_only_public_names_each_private_import(tmp_path: Path) -> None:
    from tune_core.testing import assert_imports_only_public

    package = tmp_path / "my_plugin"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("import tune_core\nfrom tune_core.interfaces import Searcher\nfrom . import sub\n")
    (package / "sub" / "__init__.py").write_text("from tune_core.search import uniform\n")
    assert_imports_only_public(package)  # public modules and relative imports only
    (package / "sub" / "deep.py").write_text("import tune_core.runner\nfrom tune_core.search.resolve import search_kind\n")
    with pytest.raises(AssertionError) as info:
        assert_imports_only_public(package)
    assert "sub/deep.py: tune_core.runner; sub/deep.py: tune_core.search.resolve" in str(info.value)
