"""Test kit for plugin authors: an opt-in pytest plugin plus ``assert_plugin_conforms``.

Enable it in your ``conftest.py`` with ``pytest_plugins = ["tune_core.plugins.testing"]``. Fixtures:

``tune_plugin_manager``: a fresh, strict manager with only the built-ins, used by every lookup
    (``get_scheduler`` and friends) for the duration of one test.
``register_plugin``: ``register_plugin(module_or_object)`` adds a plugin for one test only.
``recorded_events``: every observer-hook call of the test, as ``(hook, kwargs)`` pairs.
``local_dir``: a fresh results root for the test's experiments.

With the kit on, plugins load strictly and the folders of the tests given to pytest are on
``PYTHONPATH``, so trial processes started fresh import the trainables kept beside the tests.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tune_core.errors import closest
from tune_core.plugins import hookspecs
from tune_core.plugins.kinds import KINDS
from tune_core.plugins.manager import TunePluginManager, get_plugin_manager, register_checked
from tune_core.plugins.observers import OBSERVER_HOOKS
from tune_core.plugins.types import (
    CommandSpec,
    LazyFactory,
    LoggerSpec,
    PluginSource,
    TrainableAdapterSpec,
    check_name,
)

__all__ = [
    "assert_imports_only_public",
    "assert_plugin_conforms",
    "local_dir",
    "plugins_command_line",
    "recorded_events",
    "register_plugin",
    "tune_plugin_manager",
]

_SPECS: dict[str, inspect.Signature] = {
    name: inspect.signature(getattr(hookspecs, name))
    for name in (*hookspecs.REGISTRATION_HOOKS, *OBSERVER_HOOKS)
}


def pytest_configure(config: pytest.Config) -> None:
    """With the kit on: plugins load strictly (one that fails to load fails the run, as in tune-core's
    own suite), and the folders of the tests pytest was given are importable by trial processes
    started fresh (they read ``PYTHONPATH``), so trainables may live beside the tests."""
    os.environ.setdefault("TUNE_STRICT_PLUGINS", "1")
    folders = []
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).absolute()
        folder = str(path if path.is_dir() else path.parent)
        if folder not in folders:
            folders.append(folder)
    for folder in folders:
        if folder not in sys.path:
            sys.path.insert(0, folder)
    os.environ["PYTHONPATH"] = os.pathsep.join([*folders, *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A fresh results root for one test (``local_dir`` of its experiments), so nothing lands in
    ``~/tune_results``."""
    return tmp_path / "results"


@pytest.fixture
def tune_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[TunePluginManager]:
    """A fresh strict manager with the built-ins only; ``get_plugin_manager()`` returns it in this test."""
    monkeypatch.setenv("TUNE_NO_PLUGINS", "1")
    monkeypatch.setenv("TUNE_STRICT_PLUGINS", "1")
    monkeypatch.delenv("TUNE_DISABLE_PLUGINS", raising=False)
    get_plugin_manager.cache_clear()
    yield get_plugin_manager()
    get_plugin_manager.cache_clear()


@pytest.fixture
def register_plugin(tune_plugin_manager: TunePluginManager) -> Iterator[Callable[..., str]]:
    """``register_plugin(plugin, name=None)`` registers a module or object for this test only."""
    added: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        name = (
            name or getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{id(plugin):x}"
        )
        register_checked(tune_plugin_manager, plugin, PluginSource(plugin=name))
        added.append(name)
        return name

    yield register
    for name in added:
        if tune_plugin_manager.has_plugin(name):
            tune_plugin_manager.unregister(name=name)


class _Recorder:
    """A plugin implementing every observer hook, appending ``(hook, kwargs)`` to ``events``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    @hookspecs.hookimpl
    def tune_on_experiment_start(self, experiments: Any) -> None:
        self.events.append(("tune_on_experiment_start", {"experiments": experiments}))

    @hookspecs.hookimpl
    def tune_on_trial_start(self, trial: Any) -> None:
        self.events.append(("tune_on_trial_start", {"trial": trial}))

    @hookspecs.hookimpl
    def tune_on_trial_result(self, trial: Any, result: dict[str, Any]) -> None:
        self.events.append(("tune_on_trial_result", {"trial": trial, "result": result}))

    @hookspecs.hookimpl
    def tune_on_trial_complete(self, trial: Any) -> None:
        self.events.append(("tune_on_trial_complete", {"trial": trial}))

    @hookspecs.hookimpl
    def tune_on_trial_error(self, trial: Any, error: str, will_retry: bool) -> None:
        self.events.append(("tune_on_trial_error", {"trial": trial, "error": error, "will_retry": will_retry}))

    @hookspecs.hookimpl
    def tune_on_experiment_end(self, trials: Any) -> None:
        self.events.append(("tune_on_experiment_end", {"trials": trials}))


@pytest.fixture
def recorded_events(register_plugin: Callable[..., str]) -> list[tuple[str, dict[str, Any]]]:
    """Every ``tune_on_*`` call made in this test, in order, as ``(hook, kwargs)``."""
    recorder = _Recorder()
    register_plugin(recorder, name="recorded-events")
    return recorder.events


def plugins_command_line(distribution: str) -> str:
    """The line of ``distribution`` in what ``tune-core plugins`` prints, run as a user runs it (the
    console script beside this interpreter, else ``python -m tune_core``): what the plugin provides,
    as the user sees it. ``AssertionError`` if the command fails or does not list it."""
    import subprocess

    script = Path(sys.executable).with_name("tune-core")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tune_core"]
    out = subprocess.run([*command, "plugins"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if distribution in line.split()]
    assert lines, f"tune-core plugins does not list {distribution}:\n{out.stdout}"
    return lines[0]


def _check_signature(hook: str, function: Any, problems: list[str]) -> None:
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return
    allowed = _SPECS[hook].parameters
    for param in params.values():
        if param.name not in allowed:
            problems.append(
                f"{hook}: argument {param.name!r} is not in the spec {hook}{_SPECS[hook]}"
            )
        elif param.default is not param.empty:
            problems.append(
                f"{hook}: argument {param.name!r} has a default; hookimpl arguments never do"
            )


#: What ``_resolved`` returns for a ``lazy`` target that does not import.
_UNRESOLVED = object()


def _resolved(value: Any, where: str, problems: list[str]) -> Any:
    """``value``, or what a ``lazy(...)`` value names; ``_UNRESOLVED`` (with a problem noted) if that
    does not import."""
    if not isinstance(value, LazyFactory):
        return value
    try:
        return value.resolve()
    except Exception as exc:
        problems.append(f"{where}: cannot import {value.target}: {type(exc).__name__}: {exc}")
        return _UNRESOLVED


def _check_factory(kind: str, spec: Any, call_factories: bool, problems: list[str]) -> None:
    wanted = KINDS[kind].product_types()  # type: ignore[index]
    names = KINDS[kind].product_names()  # type: ignore[index]
    where = f"{kind} {spec.name!r}"
    factory = _resolved(spec.factory, where, problems)
    if factory is _UNRESOLVED:
        return
    if inspect.isclass(factory):
        if not issubclass(factory, wanted):
            problems.append(f"{where}: factory {factory.__name__} is not a subclass of {names}")
        elif inspect.isabstract(factory):
            missing = ", ".join(sorted(getattr(factory, "__abstractmethods__", ())))
            problems.append(f"{where}: {factory.__name__} does not implement {missing}")
        return
    if not callable(factory):
        problems.append(f"{where}: factory {factory!r} is not callable")
        return
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return
    needs_args = any(
        p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        for p in params
    )
    if call_factories and not needs_args:
        product = factory()
        if not isinstance(product, wanted):
            problems.append(
                f"{where}: factory() made a {type(product).__name__}, which is not a {names}"
            )


def _check_command(spec: CommandSpec, problems: list[str]) -> None:
    """A command's functions are callable and, when named with ``lazy``, import."""
    from tune_core.cli import SUBCOMMANDS

    where = f"command {spec.name!r}"
    if spec.name in SUBCOMMANDS:
        problems.append(f"{where}: the name is tune-core's own ({', '.join(SUBCOMMANDS)})")
    for field in ("add_arguments", "run"):
        func = _resolved(getattr(spec, field), where, problems)
        if func is not _UNRESOLVED and not callable(func):
            problems.append(f"{where}: `{field}` must be callable, got {type(func).__name__}")


def assert_plugin_conforms(plugin: Any, *, call_factories: bool = True) -> None:
    """Check a plugin module (or object) against the hook specs; raise ``AssertionError`` listing problems.

    Checks that each ``@hookimpl`` names a real hook with arguments from its spec (and no defaults),
    that no ``tune_*`` function lacks ``@hookimpl``, that registration hooks yield the right record
    types with kebab-case names and no duplicates, and that each factory's product implements the
    interface of its kind (a class is checked without being called; a function factory is called
    only when it needs no arguments and ``call_factories`` is true).
    """
    problems: list[str] = []
    pm = TunePluginManager(strict=True)
    for attr in dir(plugin):
        value: Any = getattr(plugin, attr, None)
        marked = callable(value) and pm.parse_hookimpl_opts(plugin, attr) is not None
        if not marked:
            if attr.startswith("tune_") and inspect.isfunction(value):
                problems.append(f"{attr}: looks like a hook but is not decorated with @hookimpl")
            continue
        if attr not in _SPECS:
            hint = closest(attr, _SPECS)
            problems.append(
                f"{attr}: unknown hook" + (f" (did you mean {hint!r}?)" if hint else "")
            )
            continue
        before = len(problems)
        _check_signature(attr, value, problems)
        kind = hookspecs.REGISTRATION_HOOKS.get(attr)
        if kind is None or len(problems) > before:
            continue
        spec_type = KINDS[kind].record
        names: set[str] = set()
        for item in value() or ():
            if not isinstance(item, spec_type):
                problems.append(
                    f"{attr}: yielded {type(item).__name__}, expected {spec_type.__name__}"
                )
                continue
            try:
                check_name(item.name)
            except ValueError as exc:
                problems.append(f"{attr}: {exc}")
            if item.name in names:
                problems.append(f"{attr}: name {item.name!r} yielded twice")
            names.add(item.name)
            if isinstance(item, LoggerSpec) and not isinstance(item.default_on, bool):
                problems.append(f"{attr}: logger {item.name!r} default_on must be a bool")
            if isinstance(item, TrainableAdapterSpec):
                if not (callable(item.matches) and callable(item.adapt)):
                    problems.append(
                        f"{attr}: adapter {item.name!r} needs callable matches and adapt"
                    )
            elif isinstance(item, CommandSpec):
                _check_command(item, problems)
            else:
                _check_factory(kind, item, call_factories, problems)
    if not problems:
        try:
            register_checked(pm, plugin, PluginSource(plugin=getattr(plugin, "__name__", "plugin")))
        except Exception as exc:
            problems.append(str(exc))
    if problems:
        label = getattr(plugin, "__name__", repr(plugin))
        raise AssertionError(f"plugin {label} does not conform:\n  " + "\n  ".join(problems))


def assert_imports_only_public(package_dir: str | os.PathLike[str]) -> None:
    """Check that no module under ``package_dir`` imports a part of tune-core outside
    ``tune_core.plugins.PUBLIC_MODULES``; raise ``AssertionError`` listing each ``file: module``.

    The public modules are the contract a plugin is built on; anything else may change under it.

    Example:
        >>> assert_imports_only_public(Path(my_plugin.__file__).parent)  # doctest: +SKIP
    """
    import ast
    from pathlib import Path

    from tune_core.plugins import PUBLIC_MODULES

    bad = []
    root = Path(package_dir)
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            bad += [f"{path.relative_to(root)}: {name}" for name in names
                    if name.split(".")[0] == "tune_core" and name not in PUBLIC_MODULES]
    if bad:
        raise AssertionError("imports of tune-core modules that are not public (tune_core.plugins.PUBLIC_MODULES): "
                             + "; ".join(bad))
