"""Plugin distributions in this repository use only the public surface, never core internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: What a plugin may import from tune-core: the public package, the contracts, the plugin API, test kits.
ALLOWED = {
    "tune_core",
    "tune_core.interfaces",
    "tune_core.plugins",
    "tune_core.plugins.testing",
    "tune_core.testing",
}

SOURCES = sorted(
    path
    for pattern in (
        "plugins/*/src/**/*.py",
        "plugins/*/tests/**/*.py",
        "tests/data/plugins/*/src/**/*.py",
    )
    for path in REPO.glob(pattern)
)


def tune_core_imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "tune_core"]


def test_there_are_plugin_sources_to_check() -> None:
    assert any("tune-example-scheduler" in str(p) for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_public_surface(path: Path) -> None:
    bad = [f"line {line}: {name}" for line, name in tune_core_imports(path) if name not in ALLOWED]
    assert not bad, (
        f"{path.relative_to(REPO)} imports core internals: {bad}; allowed: {sorted(ALLOWED)}"
    )
