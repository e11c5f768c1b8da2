"""Built-in trial loggers and the on-disk layout they share.

``JsonLogger`` writes ``params.json``, ``params.pkl`` and ``result.json``; ``CSVLogger`` writes
``progress.csv``. Both implement ``tune_core.interfaces.TrialLogger`` and are registered as the
``json`` and ``csv`` loggers by ``tune_core.builtin``; each cuts its own file back to a checkpoint's
iteration when a trial restarts from it (``on_trial_restart``).

For logger authors (a public module): the file names, ``atomic_write``, ``cut_result_file`` and
``cut_progress_file`` (cut a log back to a checkpoint's iteration, and a half-written last line),
``drop_partial_last_line`` and ``flatten`` (``{"a": {"b": 1}}`` -> ``{"a/b": 1}``).
"""

from tune_core.loggers._files import (
    PROGRESS_FILE,
    RESULT_FILE,
    atomic_write,
    cut_progress_file,
    cut_result_file,
    drop_partial_last_line,
    flatten,
)
from tune_core.loggers.csv import CSVLogger
from tune_core.loggers.json import JsonLogger

__all__ = [
    "PROGRESS_FILE",
    "RESULT_FILE",
    "CSVLogger",
    "JsonLogger",
    "atomic_write",
    "cut_progress_file",
    "cut_result_file",
    "drop_partial_last_line",
    "flatten",
]
