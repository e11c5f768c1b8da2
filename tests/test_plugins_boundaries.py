"""Plugins and framework adapters use only the public surface, never core internals.

Everything under ``plugins/``, ``tune_torch/``, ``tune_tf/``, the example distributions under
``examples/`` and the outside plugins in ``tests/data/plugins/`` may import only the modules in ``tune_core.plugins.PUBLIC_MODULES``; in
particular never ``tune_core.executors.local``, nor any other module of the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tune_core.plugins import PUBLIC_MODULES

REPO = Path(__file__).resolve().parents[1]

SOURCES = sorted(
    path
    for pattern in (
        "plugins/*/src/**/*.py",
        "plugins/*/tests/**/*.py",
        "tune_torch/**/*.py",
        "tune_tf/**/*.py",
        "examples/*/src/**/*.py",
        "examples/*/tests/**/*.py",
        "tests/data/plugins/*/src/**/*.py",
        "tests/data/plugins/*/tests/**/*.py",
    )
    for path in REPO.glob(pattern)
)


def tune_core_imports(path: Path) -> list[tuple[int, str]]:
    """Every ``tune_core`` module ``path`` imports (``from tune_core import x`` counts as ``tune_core.x``
    when ``x`` is a module)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if _is_module(f"{node.module}.{alias.name}")]
    return [(line, name) for line, name in found if name.split(".")[0] == "tune_core"]


def _is_module(name: str) -> bool:
    import importlib.util

    try:
        return name.split(".")[0] == "tune_core" and importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def test_there_are_sources_to_check() -> None:
    names = {str(p.relative_to(REPO)) for p in SOURCES}
    assert any("tune-example-scheduler" in n for n in names)
    assert any("tune-spawn-executor" in n for n in names)
    assert any(n.startswith("tune_torch/") for n in names)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_public_surface(path: Path) -> None:
    bad = [f"line {line}: {name}" for line, name in tune_core_imports(path) if name not in PUBLIC_MODULES]
    assert not bad, (
        f"{path.relative_to(REPO)} imports core internals: {bad}; "
        f"allowed: {', '.join(PUBLIC_MODULES)}"
    )


def test_the_check_catches_an_internal_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from tune_core.executors.local import LocalExecutor\n"
                   "from tune_core import runner\nimport tune_core.trial\nfrom tune_core import interfaces\n")
    assert [name for _, name in tune_core_imports(bad) if name not in PUBLIC_MODULES] == [
        "tune_core.executors.local", "tune_core.runner", "tune_core.trial"]
