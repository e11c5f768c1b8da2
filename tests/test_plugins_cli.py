"""``tune-core plugins [--json] [--no-plugins]``, called through its ``register`` as the CLI does."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator

import pytest

from tune_core.builtin import BUILTIN_PLUGINS
from tune_core.cli import plugins as plugins_cli
from tune_core.plugins import PluginSource, SchedulerSpec, hookimpl
from tune_core.plugins.manager import TunePluginManager
from tune_core.trial import Trial

pytest_plugins = ["tune_core.plugins.testing"]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tune-core")
    plugins_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plugins", *argv])
    return int(args.func(args))


class Provider:
    @hookimpl
    def tune_schedulers(self) -> Iterator[SchedulerSpec]:
        yield SchedulerSpec(name="asha", factory=dict)

    @hookimpl
    def tune_on_trial_result(self, trial: Trial) -> None:
        pass


@pytest.fixture
def with_asha(tune_plugin_manager: TunePluginManager) -> TunePluginManager:
    source = PluginSource(plugin="asha", dist="tune-asha", version="0.3.1", entry_point="asha")
    tune_plugin_manager.register(Provider(), "asha", source=source)
    return tune_plugin_manager


def test_table_lists_every_plugin_with_distribution_version_and_names(
    with_asha: TunePluginManager, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "PROVIDES"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["asha"].split()[:5] == ["asha", "tune-asha", "0.3.1", "scheduler:", "asha;"]
    assert "observes: tune_on_trial_result" in rows["asha"]
    assert "scheduler: fifo" in rows["tune_core.builtin.fifo"]
    assert "tune-core" in rows["tune_core.builtin.local_executor"]
    assert len(rows) == len(BUILTIN_PLUGINS) + 1


def test_json_is_machine_readable(
    with_asha: TunePluginManager, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("--json") == 0
    data = json.loads(capsys.readouterr().out)
    by_plugin = {row["plugin"]: row for row in data["plugins"]}
    assert by_plugin["asha"] == {
        "plugin": "asha",
        "distribution": "tune-asha",
        "version": "0.3.1",
        "entry_point": "asha",
        "builtin": False,
        "provides": {"scheduler": ["asha"]},
        "observes": ["tune_on_trial_result"],
        "conflicts": [],
        "error": None,
    }
    assert by_plugin["tune_core.builtin.csv_logger"]["provides"] == {"logger": ["csv"]}
    assert all(by_plugin[n]["builtin"] for n in by_plugin if n != "asha")


def test_conflicts_are_marked(
    with_asha: TunePluginManager,
    register_plugin: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_plugin(Provider(), name="copycat")
    assert run_cli("--json") == 0
    rows = {row["plugin"]: row for row in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["asha"]["conflicts"] == rows["copycat"]["conflicts"] == ["scheduler asha"]
    run_cli()
    assert "[CONFLICT: scheduler asha]" in capsys.readouterr().out


def test_skipped_plugins_are_listed_with_the_reason(
    with_asha: TunePluginManager, capsys: pytest.CaptureFixture[str]
) -> None:
    class Bad:
        @hookimpl
        def tune_schedulers(self) -> Iterator[object]:
            yield {"name": "nope"}

    source = PluginSource(plugin="bad", dist="tune-bad", version="0.2.0", entry_point="bad")
    with_asha.register(Bad(), "bad", source=source)
    with_asha.strict = False
    run_cli()
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("bad "))
    assert "SKIPPED: bad record from plugin 'bad' (tune-bad 0.2.0)" in row


def test_no_plugins_lists_only_builtins(
    with_asha: TunePluginManager, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli("--no-plugins", "--json")
    names = [row["plugin"] for row in json.loads(capsys.readouterr().out)["plugins"]]
    assert names and all(n.startswith("tune_core.builtin.") for n in names)
