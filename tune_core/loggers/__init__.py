"""Built-in trial loggers and the on-disk layout they share.

``JsonLogger`` writes ``params.json``, ``params.pkl`` and ``result.json``; ``CSVLogger`` writes
``progress.csv``. Both implement ``tune_core.interfaces.TrialLogger`` and are registered as the
``json`` and ``csv`` loggers by ``tune_core.builtin``. ``truncate_trial_logs`` cuts a trial's files back
to a checkpoint's iteration before the trial is restored from it.
"""

from tune_core.loggers._files import PROGRESS_FILE, RESULT_FILE, truncate_trial_logs
from tune_core.loggers.csv import CSVLogger
from tune_core.loggers.json import JsonLogger

__all__ = ["PROGRESS_FILE", "RESULT_FILE", "CSVLogger", "JsonLogger", "truncate_trial_logs"]
