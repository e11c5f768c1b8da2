"""Loading: built-ins as ordinary plugins, entry points one at a time, broken plugins skipped or fatal.

Outside plugins here are real distributions: a ``.dist-info`` directory with ``METADATA`` and
``entry_points.txt`` next to the plugin module, on ``sys.path``, found by ``importlib.metadata``
exactly as an installed wheel is. Their names (``halving``, ``contrib``, ...) are not ones the in-repo
plugins register, so the tests hold in a development environment that has those installed too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tune_core.builtin import BUILTIN_PLUGINS
from tune_core.plugins.errors import PluginError, PluginWarning
from tune_core.plugins.manager import get_plugin_manager, load_plugins
from tune_core.plugins.registry import available

REPO = Path(__file__).resolve().parents[1]

GOOD_PLUGIN = """
from tune_core.interfaces import TrialScheduler
from tune_core.plugins import SchedulerSpec, hookimpl

class Sched(TrialScheduler):
    def on_trial_result(self, runner, trial, result):
        return self.CONTINUE

    def choose_trial_to_run(self, runner):
        return None

@hookimpl
def tune_schedulers():
    yield SchedulerSpec(name="{name}", factory=Sched)
"""

MakeDist = Callable[..., str]


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeDist]:
    """``make_dist(dist, version, entry_name, source)`` installs a one-module distribution on sys.path."""
    for name in (
        "TUNE_STRICT_PLUGINS",
        "TUNE_DISABLE_PLUGINS",
        "TUNE_NO_PLUGINS",
        "TUNE_TRACE_PLUGINS",
    ):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def make(dist: str, version: str, entry_name: str, source: str) -> str:
        module = f"{dist.replace('-', '_')}_{len(modules)}_plugin"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[tune_core]\n{entry_name} = {module}\n")
        modules.append(module)
        return module

    yield make
    for module in modules:
        sys.modules.pop(module, None)
    get_plugin_manager.cache_clear()


def test_builtins_load_as_ordinary_plugins() -> None:
    pm = load_plugins(entry_points=False, strict=True)
    names = [name for name, _ in pm.list_name_plugin()]
    assert names == list(BUILTIN_PLUGINS)
    for name in names:
        source = pm.source_of(name)
        assert source.builtin and source.dist == "tune-core" and source.entry_point is None
    assert set(available("scheduler", pm)) >= {"fifo", "median-stopping"}
    assert set(available("searcher", pm)) == {"basic"}
    assert set(available("executor", pm)) == {"local", "thread"}
    assert {n for n, r in available("logger", pm).items() if r.spec.default_on} == {"json", "csv"}


def test_entry_point_plugin_keeps_its_distribution(make_dist: MakeDist) -> None:
    make_dist("tune-halving", "0.3.1", "halving", GOOD_PLUGIN.format(name="halving"))
    pm = load_plugins(strict=True)
    reg = available("scheduler", pm)["halving"]
    assert (reg.source.plugin, reg.source.dist, reg.source.version) == (
        "halving",
        "tune-halving",
        "0.3.1",
    )
    assert reg.source.entry_point == "halving" and not reg.source.builtin


def test_broken_plugin_is_skipped_with_a_warning_naming_it(make_dist: MakeDist) -> None:
    make_dist("tune-halving", "0.3.1", "halving", "raise ImportError('needs numpy>=3')\n")
    make_dist("tune-good", "1.0.0", "good", GOOD_PLUGIN.format(name="good"))
    expected = (
        r"could not load plugin 'halving' \(tune-halving 0\.3\.1\): ImportError: needs numpy>=3; "
        r"disable with TUNE_DISABLE_PLUGINS=halving"
    )
    with pytest.warns(PluginWarning, match=expected):
        pm = load_plugins(strict=False)
    assert not pm.has_plugin("halving")
    assert "good" in available("scheduler", pm)  # the rest keep working
    assert [f.source.dist for f in pm.failures] == ["tune-halving"]


def test_broken_plugin_is_fatal_when_strict(
    make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist("tune-halving", "0.3.1", "halving", "raise ImportError('needs numpy>=3')\n")
    monkeypatch.setenv("TUNE_STRICT_PLUGINS", "1")
    with pytest.raises(
        PluginError, match=r"could not load plugin 'halving' \(tune-halving 0\.3\.1\): ImportError"
    ) as info:
        get_plugin_manager()
    assert isinstance(info.value.__cause__, ImportError)


@pytest.mark.parametrize("disable", ["halving", "tune-halving", "other, halving"])
def test_disabled_entry_points_are_not_imported(
    make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch, disable: str
) -> None:
    make_dist("tune-halving", "0.3.1", "halving", "raise ImportError('must not be imported')\n")
    monkeypatch.setenv("TUNE_DISABLE_PLUGINS", disable)
    monkeypatch.setenv("TUNE_STRICT_PLUGINS", "1")
    pm = get_plugin_manager()
    assert not pm.has_plugin("halving") and not pm.failures


def test_no_plugins_keeps_only_builtins(
    make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist("tune-halving", "0.3.1", "halving", GOOD_PLUGIN.format(name="halving"))
    assert "halving" in available("scheduler", load_plugins(strict=True))
    monkeypatch.setenv("TUNE_NO_PLUGINS", "1")
    pm = load_plugins(strict=True)
    assert all(name.startswith("tune_core.builtin.") for name, _ in pm.list_name_plugin())
    assert "halving" not in available("scheduler", pm)


def test_misspelled_hook_fails_fast_naming_the_plugin(make_dist: MakeDist) -> None:
    make_dist(
        "tune-typo",
        "0.1.0",
        "typo",
        """
        from tune_core.plugins import hookimpl

        @hookimpl
        def tune_schedulrs():
            return []
        """,
    )
    expected = (
        r"could not load plugin 'typo' \(tune-typo 0\.1\.0\): implements unknown hook 'tune_schedulrs' "
        r"\(did you mean 'tune_schedulers'\?\); disable with TUNE_DISABLE_PLUGINS=typo"
    )
    with pytest.raises(PluginError, match=expected):
        load_plugins(strict=True)
    with pytest.warns(PluginWarning, match=expected):
        pm = load_plugins(strict=False)
    assert not pm.has_plugin("typo")
    pm.check_pending()  # nothing unverified is left behind


def test_hookimpl_with_an_argument_not_in_the_spec_is_a_load_failure(make_dist: MakeDist) -> None:
    make_dist(
        "tune-badsig",
        "2.0.0",
        "badsig",
        """
        from tune_core.plugins import hookimpl

        @hookimpl
        def tune_on_trial_result(trial, outcome):
            pass
        """,
    )
    with pytest.raises(PluginError, match=r"plugin 'badsig' \(tune-badsig 2\.0\.0\).*outcome"):
        load_plugins(strict=True)


def test_two_distributions_with_one_entry_point_name(make_dist: MakeDist) -> None:
    make_dist("tune-halving", "0.3.1", "halving", GOOD_PLUGIN.format(name="halving"))
    make_dist("tune-halving-fork", "0.4.0", "halving", GOOD_PLUGIN.format(name="halving-fork"))
    with pytest.raises(PluginError, match=r"'halving' \(tune-halving.*is already taken by tune-halving"):
        load_plugins(strict=True)


def test_two_distributions_claiming_one_scheduler_name(make_dist: MakeDist) -> None:
    make_dist("tune-halving", "0.3.1", "halving", GOOD_PLUGIN.format(name="halving"))
    make_dist("tune-contrib", "1.2.0", "contrib", GOOD_PLUGIN.format(name="halving"))
    pm = load_plugins(strict=True)
    with pytest.raises(
        PluginError,
        match=r"scheduler 'halving' is provided by tune-contrib 1\.2\.0 and tune-halving 0\.3\.1",
    ) as info:
        available("scheduler", pm)
    assert "TUNE_DISABLE_PLUGINS=contrib or halving" in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "yield {'name': 'halving'}",
            r"bad record from plugin 'bad' \(tune-bad 0\.2\.0\): tune_schedulers\(\) yielded .* of type dict, expected SchedulerSpec",
        ),
        (
            "yield SearcherSpec(name='halving', factory=dict)",
            r"yielded .* of type SearcherSpec, expected SchedulerSpec",
        ),
        (
            "yield SchedulerSpec(name='HALVING', factory=dict)",
            r"error in plugin 'bad' \(tune-bad 0\.2\.0\): tune_schedulers\(\) raised ValueError: invalid plugin name 'HALVING'",
        ),
    ],
)
def test_bad_record_is_reported_like_a_load_failure(
    make_dist: MakeDist, body: str, message: str
) -> None:
    source = f"""
from tune_core.plugins import SchedulerSpec, SearcherSpec, hookimpl

@hookimpl
def tune_schedulers():
    {body}
"""
    make_dist("tune-bad", "0.2.0", "bad", source)
    with pytest.raises(PluginError, match=message):
        available("scheduler", load_plugins(strict=True))
    pm = load_plugins(strict=False)
    with pytest.warns(PluginWarning, match=message + r".*; disable with TUNE_DISABLE_PLUGINS=bad"):
        names = available("scheduler", pm)
    assert "fifo" in names and "halving" not in names
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        available("scheduler", pm)  # reported once, not on every lookup


def test_trace_plugins_writes_to_stderr(
    make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_dist("tune-halving", "0.3.1", "halving", GOOD_PLUGIN.format(name="halving"))
    monkeypatch.setenv("TUNE_TRACE_PLUGINS", "1")
    pm = load_plugins(strict=True)
    pm.hook.tune_on_trial_start(trial="t1")
    err = capsys.readouterr().err
    assert "registered halving (tune-halving 0.3.1)" in err
    assert "tune_on_trial_start" in err


def test_get_plugin_manager_is_cached_until_cache_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNE_NO_PLUGINS", "1")
    get_plugin_manager.cache_clear()
    try:
        first = get_plugin_manager()
        assert get_plugin_manager() is first
        get_plugin_manager.cache_clear()
        assert get_plugin_manager() is not first
    finally:
        get_plugin_manager.cache_clear()


def test_importing_tune_core_builds_no_manager_and_builtins_import_lazily() -> None:
    code = (
        "import importlib, sys, tune_core, tune_core.plugins\n"
        "from tune_core.plugins.manager import get_plugin_manager\n"
        "print(get_plugin_manager.cache_info().currsize)\n"
        "before = set(sys.modules)\n"
        "from tune_core.builtin import BUILTIN_PLUGINS\n"
        "for name in BUILTIN_PLUGINS: importlib.import_module(name)\n"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('tune_core.builtin')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines() == ["0", "[]"]
