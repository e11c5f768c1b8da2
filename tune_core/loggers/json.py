"""The JSON logger: ``params.json`` (+ ``params.pkl`` when needed) per trial, and ``result.json`` with one result per line.

``result.json`` is the source of truth that ``ExperimentAnalysis`` and ``tune-core ls`` read back.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import orjson

from tune_core.loggers._files import (
    JSON_OPTIONS,
    RESULT_FILE,
    FileLogger,
    TrialFile,
    atomic_write,
    cut_result_file,
    drop_partial_last_line,
    dumps,
    write_file,
)

if TYPE_CHECKING:
    from tune_core.interfaces import TrialView

__all__ = ["JsonLogger"]

log = logging.getLogger(__name__)

_PARAMS_OPTIONS = JSON_OPTIONS | orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


class _ResultFile(TrialFile):
    """``result.json`` of one trial, with its config encoded once rather than once per line."""

    __slots__ = ("config", "config_tail")

    def __init__(self, path: str, config: Any) -> None:
        super().__init__(path)
        self.config: Any = None
        self.config_tail = b""
        self.set_config(config)

    def set_config(self, config: Any) -> None:
        self.config = config
        self.config_tail = b'"config":' + dumps(config) + b"}\n"


class JsonLogger(FileLogger[_ResultFile]):
    """Writes ``params.json``/``params.pkl`` when a trial starts and appends each result to ``result.json``.

    Every line is the result plus ``"config"``. NaN and infinities become ``null``, numpy values
    become numbers or lists, and anything else JSON cannot hold becomes its ``str``: a strange metric
    never stops a trial. Lines are buffered and reach the disk on ``flush()`` and when a trial ends.
    """

    def _start(self, trial: TrialView, fresh: bool) -> _ResultFile:
        logdir = os.fspath(trial.logdir or ".")  # str paths: a trial start is on the hot path
        write_params(logdir, trial.config, fresh=fresh)
        path = os.path.join(logdir, RESULT_FILE)
        if not fresh:
            drop_partial_last_line(path)  # a restarted trial appends after whatever survived a crash
        return _ResultFile(path, trial.config)

    def _cut(self, trial: TrialView, iteration: int) -> None:
        cut_result_file(os.path.join(os.fspath(trial.logdir or "."), RESULT_FILE), iteration)

    def on_trial_result(self, trial: TrialView, result: dict[str, Any]) -> None:
        state = self._ready(trial)
        fh = state.fh
        assert fh is not None
        if "config" in result:
            fh.write(dumps(result))
            fh.write(b"\n")
            return
        if trial.config is not state.config:
            state.set_config(trial.config)
        body = dumps(result)
        # Splice the pre-encoded config into the object: no dict copy, no re-encoding of the config.
        if len(body) > 2:
            fh.write(body[:-1])
            fh.write(b",")
        else:
            fh.write(b"{")
        fh.write(state.config_tail)


def write_params(logdir: str | os.PathLike[str], config: Any, fresh: bool = False) -> None:
    """Write ``params.json`` (sorted, indented, readable) and, if JSON cannot hold the config exactly,
    ``params.pkl``.

    A new trial directory (``fresh``) gets ``params.json`` in one write: nothing to replace, and a
    trial start is on the hot path. Otherwise an existing file is replaced atomically.
    """
    logdir = os.fspath(logdir)
    path = os.path.join(logdir, "params.json")
    data = dumps(config, _PARAMS_OPTIONS) + b"\n"
    try:
        write_file(path, data, exclusive=not fresh)
    except FileExistsError:  # A restarted trial: replace the old file atomically.
        atomic_write(path, data)
    if plain_json(config):
        return
    try:
        import cloudpickle  # imported here: only trial starts pay for it

        pickled = cloudpickle.dumps(config)
    except Exception as exc:  # an unpicklable config must not stop the trial; params.json has it
        log.warning(
            "could not pickle the config of %s: %s: %s", os.path.basename(logdir), type(exc).__name__, exc
        )
        return
    write_file(os.path.join(logdir, "params.pkl"), pickled)


def plain_json(config: Any) -> bool:
    """True when ``params.json`` alone gives back exactly ``config``."""
    try:
        return bool(orjson.loads(orjson.dumps(config)) == config)
    except (orjson.JSONEncodeError, TypeError):
        return False
