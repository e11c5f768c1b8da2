"""The rllab/VisKit layout, as VisKit's loader (``viskit.core.load_exps_data``) reads it.

VisKit walks a folder and takes every directory holding a ``progress.csv`` as one experiment, with its
parameters from ``variant.json`` (else ``params.json``). It parses every CSV cell with ``float`` and
turns anything else (text, an empty cell) into ``0.0``, so the file written here holds numbers only:
the numeric fields of each result, nested ones flattened with ``/``, and ``nan`` where a row lacks a
column. The core's own ``progress.csv`` (dates, host names, ``config/...`` text) stays where it is; this
layout lives beside the trials, in ``<experiment dir>/viskit/<trial dir name>/``, so that VisKit pointed
at that folder sees each trial once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from numbers import Real
from typing import Any

__all__ = [
    "PROGRESS_FILE",
    "VARIANT_FILE",
    "VISKIT_DIR",
    "flat_config",
    "numeric_fields",
    "variant",
    "viskit_dir_of",
]

#: The folder, inside an experiment's directory, that holds one VisKit experiment per trial.
VISKIT_DIR = "viskit"
PROGRESS_FILE = "progress.csv"
VARIANT_FILE = "variant.json"
#: VisKit's own separator of flattened parameter names (``flatten_dict``): ``model.lr``.
PARAM_SEP = "."
#: The separator of flattened metric names, as in the core's ``progress.csv`` (``info/loss``).
METRIC_SEP = "/"


def viskit_dir_of(trial_logdir: str) -> str:
    """``<experiment dir>/<trial>`` -> ``<experiment dir>/viskit/<trial>``."""
    experiment_dir, name = os.path.split(os.path.normpath(trial_logdir))
    return os.path.join(experiment_dir, VISKIT_DIR, name)


def _is_number(value: Any) -> bool:
    # bool is a Real; True/False become 1/0, which VisKit plots (``done``).
    return isinstance(value, Real) and not isinstance(value, complex)


def numeric_fields(result: Mapping[str, Any], prefix: str = "") -> dict[str, int | float]:
    """The numeric fields of ``result``, nested mappings flattened with ``/``; text, lists, None dropped.

    Numpy scalars count (they register as ``numbers.Real``); booleans become 0/1.
    """
    out: dict[str, int | float] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(numeric_fields(value, name + METRIC_SEP))
        elif isinstance(value, (bool, int)):
            out[name] = int(value)
        elif _is_number(value):
            out[name] = float(value)
    return out


def _json_value(value: Any) -> Any:
    """A config value as JSON can hold it: numbers, text, booleans, None and lists of them as they are,
    anything else (a class, a function, a search-space object) as its ``repr``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if _is_number(value):  # numpy scalars
        return _json_value(value.item() if hasattr(value, "item") else float(value))
    return repr(value)


def flat_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"lr": 0.1}}`` -> ``{"model.lr": 0.1}``: VisKit's own flattening, done once here so that
    ``params`` and ``flat_params`` agree and every value is JSON."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_config(value, name + PARAM_SEP))
        else:
            out[name] = _json_value(value)
    return out


def variant(exp_name: str, log_dir: str, config: Mapping[str, Any] | None) -> bytes:
    """``variant.json``: ``exp_name`` (the trial's directory name), ``log_dir`` (the trial's directory;
    VisKit leaves both out of its parameter menus) and the flattened config."""
    data: dict[str, Any] = {"exp_name": exp_name, "log_dir": log_dir}
    data.update(flat_config(config or {}))
    return json.dumps(data, indent=2, sort_keys=False).encode("utf-8") + b"\n"
