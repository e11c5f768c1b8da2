"""Reading back what the JSON logger wrote: ``params.json`` and ``result.json``, crash leftovers included.

A crash can leave the last line of ``result.json`` cut short; readers skip it (and any other line that
does not parse) rather than fail.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

__all__ = ["read_json", "read_last_result", "read_results"]

log = logging.getLogger(__name__)


def read_json(path: Path) -> Any:
    """The parsed content of ``path``, or None when it is missing or not JSON."""
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every result in ``path``; a line a crash cut short (or any unreadable line) is skipped."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    results, bad = [], 0
    for line in data.splitlines():
        if line.strip():
            parsed = _parse(line)
            if parsed is None:
                bad += 1
            else:
                results.append(parsed)
    if bad and not (bad == 1 and not data.endswith(b"\n")):
        log.warning("%s: skipped %d unreadable line(s)", path, bad)
    return results


def read_last_result(path: Path) -> dict[str, Any] | None:
    """The last readable result in ``path``, reading backwards from the end in blocks."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except OSError:
        return None
    with fh:
        pos = fh.seek(0, os.SEEK_END)
        tail = b""
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            tail = fh.read(step) + tail
            lines = tail.split(b"\n")
            # lines[0] may be cut by the block boundary, unless we reached the start of the file.
            for line in reversed(lines if pos == 0 else lines[1:]):
                if line.strip() and (parsed := _parse(line)) is not None:
                    return parsed
            tail = lines[0] if pos > 0 else b""
    return None
