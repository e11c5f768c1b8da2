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

import tune_core as tune
from tune_core import interfaces
from tune_core.plugins import (
    CommandSpec,
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
    available,
    get_executor,
    get_logger,
    get_scheduler,
    instantiate,
)
from tune_core.testing import ThreadExecutor
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
    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_trial_result(self, runner: Any, trial: Any, result: dict[str, Any]) -> str:
        self.seen.append(result["training_iteration"])
        return self.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Any:
        return next(iter(runner.trials_with_status(interfaces.PENDING)), None)


class Search(interfaces.Searcher):
    def __init__(self) -> None:
        self.given = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        self.given += 1
        return {"lr": 0.1 * self.given} if self.given <= 2 else Searcher_FINISHED

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        pass


Searcher_FINISHED = interfaces.Searcher.FINISHED


class Log(interfaces.TrialLogger):
    made: list[Log] = []

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lines: list[str] = []
        Log.made.append(self)

    def on_trial_result(self, trial: Any, result: dict[str, Any]) -> None:
        self.lines.append(f"{self.prefix}{result['step']}")


class Exec(ThreadExecutor):
    started: list[str] = []

    def start_trial(self, launch: Any) -> str:
        Exec.started.append(launch.trial_id)
        return super().start_trial(launch)


class Objective:
    """A "framework" object no trainable kind covers: called with a config, returns a score."""

    def score(self, config: dict[str, Any]) -> float:
        return -float(config.get("x", 0)) ** 2


def as_function_trainable(objective: Objective) -> Callable[[dict[str, Any], Any], None]:
    def objective_trainable(config: dict[str, Any], reporter: Any) -> None:
        reporter(score=objective.score(config), done=True)

    return objective_trainable


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
        yield TrainableAdapterSpec(name="mine", matches=lambda o: isinstance(o, Objective),
                                   adapt=as_function_trainable)


def steps(config: dict[str, Any], reporter: Any) -> None:
    for step in range(1, 4):
        reporter(step=step)


def run_hooked(local_dir: Path, run: Any = steps, **kwargs: Any) -> list[Trial]:
    """A real run on the thread executor (these are runner tests), with ``kwargs`` for run_experiments."""
    kwargs.setdefault("executor", "thread")
    spec = {"run": run, "local_dir": str(local_dir), **kwargs.pop("spec", {})}
    return tune.run_experiments({"hooked": spec}, verbose=0, **kwargs)


def test_hook_tune_schedulers(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    scheduler = get_scheduler("mine")
    assert isinstance(scheduler, Sched)
    trials = run_hooked(local_dir, scheduler="mine", spec={"config": {"x": tune.grid_search([1, 2])}})
    assert [t.status for t in trials] == ["TERMINATED", "TERMINATED"]


def test_hook_tune_searchers(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    trials = run_hooked(local_dir, search_alg="mine", spec={"num_samples": 5})
    assert sorted(t.config["lr"] for t in trials) == [0.1, 0.2]


def test_hook_tune_loggers(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    Log.made.clear()
    run_hooked(local_dir, loggers=["json", "mine"])
    (logger,) = Log.made
    assert logger.lines == ["1", "2", "3"]
    assert get_logger("mine", prefix="> ").prefix == "> "  # config reaches the factory


def test_hook_tune_executors(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    Exec.started.clear()
    trials = run_hooked(local_dir, executor="mine", spec={"config": {"x": tune.grid_search([1, 2, 3])}})
    assert sorted(Exec.started) == sorted(t.trial_id for t in trials)
    assert isinstance(get_executor("mine"), Exec)


def test_hook_tune_trainable_adapters(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    assert adapt_trainable("yours") is None
    trials = run_hooked(local_dir, run=Objective(), spec={"config": {"x": tune.grid_search([1, 3])}})
    assert [t.last_result["score"] for t in trials] == [-1.0, -9.0]
    assert trials[0].name == "Objective_0_x=1"


def test_an_adapter_that_returns_none_is_named(register_plugin: Register, local_dir: Path) -> None:
    class Careless:
        @hookimpl
        def tune_trainable_adapters(self) -> Iterator[TrainableAdapterSpec]:
            yield TrainableAdapterSpec(name="careless", matches=lambda o: isinstance(o, Objective),
                                       adapt=lambda o: None)

    register_plugin(Careless(), name="careless-plugin")
    with pytest.raises(tune.TuneError, match=r"trainable adapter 'careless' .* adapt\(\) returned None"):
        run_hooked(local_dir, run=Objective())


class Commands:
    @hookimpl
    def tune_commands(self) -> Iterator[CommandSpec]:
        yield CommandSpec(name="count-trials", description="count an experiment's trial directories",
                          add_arguments=lambda parser: parser.add_argument("experiment_dir"), run=count_trials)


def count_trials(args: Any) -> int:
    from tune_core.errors import TuneError

    found = [p for p in Path(args.experiment_dir).iterdir() if p.is_dir()]
    if not found:
        raise TuneError(f"no trials in {args.experiment_dir}")
    print(f"{len(found)} trials")
    return 3


def test_hook_tune_commands(register_plugin: Register, local_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tune_core.cli import build_parser, main

    register_plugin(Commands(), name="commands")
    run_hooked(local_dir)
    assert main(["count-trials", str(local_dir / "hooked")]) == 3  # Its own exit status.
    assert capsys.readouterr().out == "1 trials\n"
    (local_dir / "empty").mkdir()
    assert main(["count-trials", str(local_dir / "empty")]) == 1  # A TuneError: one line, no traceback.
    assert capsys.readouterr().err == f"tune-core: error: no trials in {local_dir / 'empty'}\n"
    help_text = build_parser().format_help()
    assert "count-trials" in help_text and "count an experiment's trial directories" in help_text


def test_command_records_are_checked_by_the_conformance_kit() -> None:
    from tune_core.plugins.testing import assert_plugin_conforms

    assert_plugin_conforms(Commands())

    class Broken:
        @hookimpl
        def tune_commands(self) -> Iterator[CommandSpec]:
            yield CommandSpec(name="plugins", add_arguments=lambda parser: None, run="not callable")  # type: ignore[arg-type]

    with pytest.raises(AssertionError) as caught:
        assert_plugin_conforms(Broken())
    assert "command 'plugins': the name is tune-core's own" in str(caught.value)
    assert "command 'plugins': `run` must be callable, got str" in str(caught.value)


def test_a_plugin_command_may_not_take_a_core_name(register_plugin: Register,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tune_core.cli import main

    class Clash:
        @hookimpl
        def tune_commands(self) -> Iterator[CommandSpec]:
            yield CommandSpec(name="ls", add_arguments=lambda parser: None, run=lambda args: 0)

    register_plugin(Clash(), name="clash")
    assert main(["plugins"]) == 1
    assert "registers the command 'ls', which is tune-core's own" in capsys.readouterr().err


def test_logger_arguments_by_name(register_plugin: Register, local_dir: Path) -> None:
    register_plugin(Provider(), name="provider")
    Log.made.clear()
    run_hooked(local_dir, loggers=["json", "mine"], logger_config={"mine": {"prefix": "step "}})
    assert Log.made[0].lines == ["step 1", "step 2", "step 3"]
    with pytest.raises(tune.TuneError, match=r"`logger_config` names 'csv', which is not a logger of this run"):
        run_hooked(local_dir, loggers=["json"], logger_config={"csv": {}})
    with pytest.raises(tune.TuneError, match=r"logger 'mine' .* got an unexpected argument 'prefx'"):
        run_hooked(local_dir, loggers=["mine"], logger_config={"mine": {"prefx": ""}})


def test_instantiate_refuses_an_adapter_record_clearly(register_plugin: Register) -> None:
    register_plugin(Provider(), name="provider")
    reg = available("trainable-adapter")["mine"]
    with pytest.raises(tune.TuneError, match=r"trainable-adapter 'mine' .* has nothing to instantiate"):
        instantiate(reg)


# --- observer hooks: what a real run fires --------------------------------------------------------


@pytest.fixture
def trial() -> Trial:
    return Trial("train_func", config={"lr": 0.1})


def _hooks(events: Events) -> list[str]:
    return [hook for hook, _ in events]


def flaky(config: dict[str, Any], reporter: Any) -> None:
    reporter(step=1)
    if config.get("fail") == "always" or (config.get("fail") == "once" and not Path(config["mark"]).exists()):
        Path(config["mark"]).write_text("x")
        raise RuntimeError("flaky failure")
    reporter(step=2)


def test_hook_tune_on_experiment_start(recorded_events: Events, local_dir: Path) -> None:
    run_hooked(local_dir)
    assert recorded_events[0][0] == "tune_on_experiment_start"
    assert [e.name for e in recorded_events[0][1]["experiments"]] == ["hooked"]


def test_hook_tune_on_trial_start(recorded_events: Events, local_dir: Path) -> None:
    (trial,) = run_hooked(local_dir)
    starts = [kw["trial"] for hook, kw in recorded_events if hook == "tune_on_trial_start"]
    assert starts == [trial.view] and isinstance(starts[0], interfaces.TrialView)


def test_hook_tune_on_trial_result(recorded_events: Events, local_dir: Path) -> None:
    (trial,) = run_hooked(local_dir)
    results = [kw for hook, kw in recorded_events if hook == "tune_on_trial_result"]
    assert [kw["result"]["step"] for kw in results] == [1, 2, 3]
    assert all(kw["trial"] is trial.view for kw in results)


def test_hook_tune_on_trial_complete(recorded_events: Events, local_dir: Path) -> None:
    """Fires for every trial that ends TERMINATED, never for one that ends in ERROR."""
    trials = run_hooked(local_dir, run=flaky, raise_on_failed_trial=False,
                        spec={"config": {"fail": tune.grid_search([None, "always"]),
                                         "mark": str(local_dir / "mark")}})
    completed = [kw["trial"] for hook, kw in recorded_events if hook == "tune_on_trial_complete"]
    assert [t.status for t in trials] == ["TERMINATED", "ERROR"]
    assert completed == [trials[0].view]


def test_hook_tune_on_trial_error(recorded_events: Events, local_dir: Path) -> None:
    """Fires on every failure, with ``will_retry`` telling a retried one from the last."""
    (once,) = run_hooked(local_dir, run=flaky, spec={"max_failures": 2,
                                                     "config": {"fail": "once", "mark": str(local_dir / "m1")}})
    errors = [(kw["will_retry"], kw["error"].splitlines()[-1]) for hook, kw in recorded_events
              if hook == "tune_on_trial_error"]
    assert once.status == "TERMINATED" and errors == [(True, "RuntimeError: flaky failure")]
    recorded_events.clear()
    (always,) = run_hooked(local_dir, run=flaky, raise_on_failed_trial=False,
                           spec={"max_failures": 1, "config": {"fail": "always", "mark": str(local_dir / "m2")}})
    assert always.status == "ERROR"
    assert [kw["will_retry"] for hook, kw in recorded_events if hook == "tune_on_trial_error"] == [True, False]
    assert _hooks(recorded_events).count("tune_on_trial_start") == 2


def test_hook_tune_on_experiment_end(recorded_events: Events, local_dir: Path) -> None:
    (trial,) = run_hooked(local_dir)
    assert recorded_events[-1] == ("tune_on_experiment_end", {"trials": [trial.view]})


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


def test_hooks_page_is_generated_from_the_specs() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(REPO / "docs" / "gen_hooks.py"), "--check"], capture_output=True)
    assert out.returncode == 0, "docs/plugins/hooks.md is out of date: run python docs/gen_hooks.py"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    docs = (REPO / "docs" / "plugins" / "hooks.md").read_text()
    assert hook_signature(name) in docs, f"docs/plugins/hooks.md lacks `{hook_signature(name)}`"


def _test_functions() -> dict[str, str]:
    """``test_*`` function name -> its source, over every test module."""
    import ast

    found: dict[str, str] = {}
    for path in (REPO / "tests").glob("test_*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = ast.get_source_segment(text, node) or ""
    return found


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test_with_a_real_run(name: str) -> None:
    """``test_hook_<name>`` exists and shows the hook at work in a run, not a direct ``notify()``;
    every observer hook is also in the exact sequence of the end-to-end run of outside plugins."""
    source = _test_functions().get(f"test_hook_{name}")
    assert source, f"no test_hook_{name} in tests/test_*.py"
    assert re.search(r"\b(run_experiments|run_hooked|tune\.run)\(", source), (
        f"test_hook_{name} does not run an experiment")
    assert "notify(" not in source, f"test_hook_{name} calls notify() instead of running"
    if name.startswith("tune_on_"):
        outside = (REPO / "tests" / "test_plugins_outside.py").read_text()
        assert f'"hook": "{name}"' in outside and "assert events == EXPECTED_EVENTS" in outside, (
            f"{name} is not in the end-to-end sequence of tests/test_plugins_outside.py")


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
