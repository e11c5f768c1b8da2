"""Regenerate the hook sections of docs/plugins/hooks.md from tune_core/plugins/hookspecs.py.

Usage: ``python docs/gen_hooks.py`` (rewrites the file) or ``python docs/gen_hooks.py --check``
(exit 1 if it is out of date). Everything from "## Registration hooks" on is generated: each hook's
signature, docstring, example and links to real plugins that implement it. A test runs ``--check``.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE / "plugins" / "hooks.md"
MARKER = "## Registration hooks"

#: hook -> real implementations to link to (paths relative to the repository).
EXAMPLES: dict[str, list[str]] = {
    "tune_schedulers": ["tune_core/builtin/fifo.py", "tune_core/builtin/median_stopping.py",
                        "tests/data/plugins/tune-example-scheduler/src/tune_example_scheduler/plugin.py"],
    "tune_searchers": ["tune_core/builtin/basic_variant.py"],
    "tune_loggers": ["tune_core/builtin/json_logger.py", "tune_core/builtin/csv_logger.py"],
    "tune_executors": ["tune_core/builtin/local_executor.py", "tune_core/builtin/thread_executor.py",
                       "tests/data/plugins/tune-spawn-executor/src/tune_spawn_executor/plugin.py"],
    "tune_trainable_adapters": ["tests/data/plugins/tune-recorder-example/src/tune_recorder_example/plugin.py"],
    **{hook: ["tests/data/plugins/tune-recorder-example/src/tune_recorder_example/plugin.py",
              "tune_core/plugins/testing.py"]
       for hook in ("tune_on_experiment_start", "tune_on_trial_start", "tune_on_trial_result",
                    "tune_on_trial_complete", "tune_on_trial_error", "tune_on_experiment_end")},
}


def signature(name: str, function: object) -> str:
    params = ", ".join(f"{p.name}: {p.annotation}" for p in inspect.signature(function).parameters.values())  # type: ignore[arg-type]
    return f"{name}({params}) -> {function.__annotations__['return']}"  # type: ignore[attr-defined]


def _md(text: str) -> str:
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _body(text: str) -> list[str]:
    """The docstring before its example, with ``Args:``/``Returns:`` as Markdown."""
    lines: list[str] = []
    block: str | None = None
    for raw in text.strip().splitlines():
        if raw in ("Args:", "Returns:"):
            block = raw[:-1]
            lines += [f"**{block}:**", ""]
            continue
        if block is None or not raw.startswith("    "):
            lines.append(_md(raw))
            continue
        item = raw[4:]
        if block == "Args" and not item.startswith(" ") and ":" in item:
            name, _, rest = item.partition(": ")
            lines.append(f"- `{name}`: {_md(rest)}")
        elif lines and lines[-1] and not lines[-1].startswith("**"):
            lines[-1] += " " + _md(item.strip())
        else:
            lines.append(_md(item.strip()))
    return lines


def section(name: str, function: object) -> str:
    doc = inspect.getdoc(function) or ""
    body, _, rest = doc.partition("Example:")
    code = textwrap.dedent(rest.split(".. code-block:: python", 1)[1].split(".. version")[0]).strip("\n")
    versions = re.findall(r"\.\. version(added|changed):: ([0-9.]+)(.*)", doc)
    lines = [f"### `{name}`", "", "```python", signature(name, function), "```", "", *_body(body), "",
             "Example:", "", "```python", code, "```", ""]
    links = EXAMPLES.get(name, [])
    if links:
        rendered = ", ".join(f"[`{_short(p)}`](../../{p})" for p in links)
        lines += [f"Examples: {rendered}.", ""]
    for kind, version, what in versions:
        lines += [f"*Added in {version}.*" if kind == "added" else f"*Changed in {version}: {_md(what.strip())}*", ""]
    return "\n".join(lines)


def _short(path: str) -> str:
    parts = path.split("/")
    return parts[3] if path.startswith("tests/data/plugins/") else path


def render() -> str:
    sys.path.insert(0, str(HERE.parent))
    from tune_core.plugins import hookspecs

    head = PAGE.read_text().split(MARKER)[0]
    hooks = [n for n in vars(hookspecs) if n.startswith("tune_") and callable(getattr(hookspecs, n))]
    registration = [n for n in hooks if n in hookspecs.REGISTRATION_HOOKS]
    observers = [n for n in hooks if n.startswith("tune_on_")]
    parts = [head + MARKER, ""]
    parts += [section(n, getattr(hookspecs, n)) for n in registration]
    parts += ["## Observer hooks", ""]
    parts += [section(n, getattr(hookspecs, n)) for n in observers]
    return "\n".join(parts).rstrip("\n") + "\n"


if __name__ == "__main__":
    fresh = render()
    if "--check" in sys.argv:
        sys.exit(0 if PAGE.read_text() == fresh else 1)
    PAGE.write_text(fresh)
