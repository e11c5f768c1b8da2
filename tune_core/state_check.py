"""Checking an ``experiment_state.json`` as it is loaded, key by key, before anything trusts it.

A damaged file (valid JSON of the wrong shape, a record missing a key, an unknown status) is a
``TuneError`` naming the file, the key and the trial's index, ending in "it was left as it is": a
resume never rewrites what it could not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tune_core.errors import TuneError
from tune_core.interfaces import STATUSES

__all__ = ["BLOBS", "VERSION", "check_state", "check_status", "expect", "read_state", "short"]

#: The state file's format; a state of another version is refused rather than misread.
VERSION = 1
#: Top-level keys holding a packed (``state.pack``) object, or null.
BLOBS = ("spec", "search_alg", "scheduler_obj", "searcher_state", "scheduler_state")


def read_state(path: Path) -> dict[str, Any] | None:
    """The file's JSON object; ``None`` if there is no file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TuneError(f"cannot read experiment state {path}: {exc.strerror or exc}") from exc
    try:
        raw = orjson.loads(data)
    except ValueError as exc:
        raise TuneError(f"corrupt experiment state {path}: not valid JSON ({exc}); it was left as it is") from None
    expect(isinstance(raw, dict), path, "the top level must be an object", raw)
    return raw


def expect(ok: bool, path: Path, what: str, value: Any) -> None:
    if not ok:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise TuneError(f"corrupt experiment state {path}: {what}, got {shown}; it was left as it is")


def short(text: Any) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def check_status(path: Path, index: int, status: Any) -> None:
    expect(status in STATUSES, path, f"trials[{index}].status must be one of {', '.join(STATUSES)}", status)


#: Keys of a trial record a resume needs, and the types each may hold (``None``: null allowed).
_REQUIRED: dict[str, tuple[type, ...]] = {"trial_id": (str,), "experiment_tag": (str,), "status": (str,)}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "config": (dict,), "config_pickle": (str,), "resources": (dict,), "logdir": (str,),
    "checkpoint": (str,), "checkpoint_iteration": (int,), "checkpoints": (list,), "num_results": (int,),
    "num_failures": (int,), "error_file": (str,), "error_message": (str,), "last_result": (dict,),
    "experiment_id": (str,), "trainable_name": (str,),
}


_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def check_state(raw: dict[str, Any], path: Path) -> None:
    """Refuse a state a resume cannot use, naming the key (and the trial's index)."""
    if raw.get("version") != VERSION:
        raise TuneError(f"experiment state {path} was written by an incompatible version of tune-core "
                        f"(state version {raw.get('version')!r}, this one reads {VERSION})")
    expect(isinstance(raw.get("trials"), list), path, "`trials` must be a list of trial records",
            raw.get("trials"))
    for key in (*BLOBS, "experiment", "trainable_name", "directory", "executor"):
        expect(raw.get(key) is None or isinstance(raw[key], str), path, f"`{key}` must be a string or null",
                raw.get(key))
    for key in ("preexisting", "import_paths"):
        value = raw.get(key)
        expect(value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)), path,
                f"`{key}` must be a list of strings", value)
    expect(raw.get("timestamp") is None or _is_number(raw["timestamp"]), path, "`timestamp` must be a number",
            raw.get("timestamp"))
    seen: set[str] = set()
    for i, entry in enumerate(raw["trials"]):
        _check_trial(path, i, entry)
        expect(entry["trial_id"] not in seen, path, f"trials[{i}].trial_id repeats an earlier trial's id",
                entry["trial_id"])
        seen.add(entry["trial_id"])


def _check_trial(path: Path, i: int, entry: Any) -> None:
    expect(isinstance(entry, dict), path, f"trials[{i}] must be an object", entry)
    for key, types in _REQUIRED.items():
        expect(key in entry, path, f"trials[{i}] has no `{key}`", sorted(entry))
        expect(isinstance(entry[key], types), path, f"trials[{i}].{key} must be {_NAMES[types[0]]}", entry[key])
    expect(bool(entry["trial_id"]), path, f"trials[{i}].trial_id must not be empty", entry["trial_id"])
    check_status(path, i, entry["status"])
    for key, types in _OPTIONAL.items():
        value = entry.get(key)
        ok = value is None or (isinstance(value, types) and not isinstance(value, bool))
        expect(ok, path, f"trials[{i}].{key} must be {_NAMES[types[0]]} or null", value)
    expect(isinstance(entry.get("config"), dict) or isinstance(entry.get("config_pickle"), str), path,
            f"trials[{i}] has neither `config` (an object) nor `config_pickle`", entry.get("config"))
    for n, item in enumerate(entry.get("checkpoints") or []):
        expect(isinstance(item, list) and len(item) == 3 and (item[0] is None or _is_number(item[0]))
                and isinstance(item[1], int) and not isinstance(item[1], bool)
                and isinstance(item[2], str), path,
                f"trials[{i}].checkpoints[{n}] must be [score, iteration, path]", item)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
