"""Reading a finished (or running, or crashed) experiment back from disk: ``ExperimentAnalysis``.

It reads what the JSON logger wrote: each trial directory's ``params.json`` and ``result.json``, plus
trial statuses from ``experiment_state.json`` when there is one (and from the states earlier runs left,
``experiment_state-<time>.json``). Only the last line of each ``result.json`` is read until a question
needs the whole history. pandas is imported only by the
methods that return DataFrames, so ``import tune_core`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError
from tune_core.loggers._files import RESULT_FILE, flatten
from tune_core.loggers._read import read_json, read_last_result, read_results

if TYPE_CHECKING:
    import pandas as pd

    from tune_core.trial import Trial

__all__ = ["ExperimentAnalysis", "trial_dirs"]

log = logging.getLogger(__name__)

_MODES = ("min", "max")
_SCOPES = ("all", "last")


class _TrialRecord:
    """One trial directory: its config, id, status, and its results (read when first needed)."""

    def __init__(
        self, logdir: Path, trial_id: str | None = None, status: str | None = None
    ) -> None:
        self.logdir = logdir
        self.config: dict[str, Any] = read_json(logdir / "params.json") or {}
        self._results: list[dict[str, Any]] | None = None
        self._last = read_last_result(logdir / RESULT_FILE)
        found = self._last.get("trial_id") if self._last else None
        self.trial_id = str(trial_id or found or logdir.name)
        self.status = status

    @property
    def last(self) -> dict[str, Any] | None:
        return self._last

    @property
    def results(self) -> list[dict[str, Any]]:
        if self._results is None:
            self._results = read_results(self.logdir / RESULT_FILE)
        return self._results

    def value(self, result: Mapping[str, Any] | None, metric: str) -> float | None:
        """``result[metric]`` as a float (``a/b`` reaches into nested dicts); None if absent or NaN."""
        if result is None:
            return None
        value: Any = result.get(metric)
        if value is None and "/" in metric:
            value = result
            for part in metric.split("/"):
                value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return None
        return float(value)

    def best(self, metric: str, mode: str, scope: str) -> tuple[float, dict[str, Any]] | None:
        """The trial's best ``(value, result)`` for ``metric``: over all results, or of the last one."""
        candidates = [self._last] if scope == "last" else self.results
        best: tuple[float, dict[str, Any]] | None = None
        for result in candidates:
            value = self.value(result, metric)
            if (
                value is not None
                and result is not None
                and (best is None or _better(value, best[0], mode))
            ):
                best = (value, result)
        return best

    def row(self, result: Mapping[str, Any] | None) -> dict[str, Any]:
        """One flat DataFrame row: metrics, ``config/...`` columns, ``trial_id`` and ``logdir``."""
        result = result or {}
        row = flatten({k: v for k, v in result.items() if k != "config"})
        config = result.get("config")
        row.update(flatten(config if isinstance(config, Mapping) else self.config, "config/"))
        row["trial_id"] = self.trial_id
        row["logdir"] = str(self.logdir)
        return row


class ExperimentAnalysis:
    """The trials of one experiment directory, their results, and the best of them.

    Args:
        experiment_dir: ``<local_dir>/<experiment name>``.
        default_metric: metric used by ``best_*`` and by ``get_best_*`` when none is given.
        default_mode: ``"min"`` or ``"max"``, likewise.
        trials: the runner's ``Trial`` objects; when given, exactly their directories are read and
            their in-memory status is used (otherwise every trial directory found is read).
        latest_run: only the trials of the latest run (those ``experiment_state.json`` records), not
            those earlier runs of the same experiment name left beside them (``earlier_runs`` counts them).
        strict: a damaged ``experiment_state.json`` is a ``TuneError``; with ``strict=False`` the
            statuses are unknown and ``state_problem`` says why.

    Example:
        >>> analysis = ExperimentAnalysis("~/tune_results/my_experiment")  # doctest: +SKIP
        >>> analysis.get_best_config("mean_accuracy", "max")  # doctest: +SKIP
    """

    def __init__(
        self,
        experiment_dir: str | os.PathLike[str],
        default_metric: str | None = None,
        default_mode: str | None = None,
        trials: Sequence[Trial] | None = None,
        *,
        latest_run: bool = False,
        strict: bool = True,
    ) -> None:
        self.experiment_dir = Path(os.path.expanduser(os.fspath(experiment_dir)))
        if not self.experiment_dir.is_dir():
            raise TuneError(f"experiment directory {str(self.experiment_dir)!r} does not exist")
        if default_mode is not None:
            _check_mode(default_mode)
        self.default_metric = default_metric
        self.default_mode = default_mode
        #: Why the statuses are unknown (a damaged state read with ``strict=False``), else None.
        self.state_problem: str | None = None
        #: Trial directories of earlier runs left out by ``latest_run=True``.
        self.earlier_runs = 0
        if trials is not None:
            self._trials = [
                _TrialRecord(Path(t.logdir), t.trial_id, t.status)
                for t in trials
                if t.logdir is not None
            ]
        else:
            try:
                statuses, latest = _read_statuses(self.experiment_dir)
            except TuneError as exc:
                if strict:
                    raise
                statuses, latest, self.state_problem = {}, {}, str(exc)
            records = [_TrialRecord(d, status=statuses.get(d.name)) for d in trial_dirs(self.experiment_dir)]
            for record in records:
                record.status = record.status or statuses.get(record.trial_id)
            if latest_run and latest:
                shown = [r for r in records if r.logdir.name in latest or r.trial_id in latest]
                self.earlier_runs, records = len(records) - len(shown), shown
            self._trials = records

    # ---- what is there ---------------------------------------------------------------------------
    @property
    def trial_ids(self) -> list[str]:
        return [t.trial_id for t in self._trials]

    @property
    def trial_statuses(self) -> dict[str, str | None]:
        """trial_id -> status (from the runner or ``experiment_state.json``; None if unknown)."""
        return {t.trial_id: t.status for t in self._trials}

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """trial_id -> last result, for trials that reported at least once."""
        return {t.trial_id: t.last for t in self._trials if t.last is not None}

    @property
    def metrics(self) -> list[str]:
        """Numeric metrics in the trials' last results (nested ones as ``a/b``), sorted."""
        names: set[str] = set()
        for t in self._trials:
            if t.last:
                flat = flatten({k: v for k, v in t.last.items() if k != "config"})
                names.update(
                    k
                    for k, v in flat.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                )
        return sorted(names)

    @property
    def trial_dataframes(self) -> dict[str, pd.DataFrame]:
        """logdir -> DataFrame of every result of that trial, in order."""
        import pandas as pd

        return {str(t.logdir): pd.DataFrame([t.row(r) for r in t.results]) for t in self._trials}

    def dataframe(
        self, metric: str | None = None, mode: str | None = None, scope: str = "all"
    ) -> pd.DataFrame:
        """One row per trial: its last result, or with ``metric`` its best one (``mode``, default mode).

        Trials that never reported ``metric`` keep their last result; columns are flattened
        (``config/lr``, ``info/loss``) and ``trial_id``/``logdir`` are added.
        """
        import pandas as pd

        if metric is None:
            return pd.DataFrame([t.row(t.last) for t in self._trials])
        metric, mode = self._resolve(metric, mode)
        scope = _check_scope(scope)
        bests = [t.best(metric, mode, scope) for t in self._trials]
        if all(b is None for b in bests):
            raise self._no_metric(metric)
        return pd.DataFrame(
            [t.row(b[1] if b else t.last) for t, b in zip(self._trials, bests, strict=True)]
        )

    # ---- figures (drawn by the tune-report plugin) -----------------------------------------------
    def parallel_coordinates(self, metric: str | None = None, mode: str | None = None) -> Any:
        """A plotly ``Figure`` (it displays in Jupyter): one line per trial across every config key
        that varies, ``metric`` last and coloring the lines (each trial's best with a ``mode``).

        ``metric``/``mode`` default to ``default_metric``/``default_mode``. Drawn by the tune-report
        plugin, since plotly is too heavy for the core.

        Raises:
            TuneError: tune-report is not installed, or ``metric`` is not one the trials reported.
        """
        metric, mode = self._figure_args(metric, mode)
        return _report_figures().parallel_coordinates(self, metric, mode)

    def learning_curves(self, metric: str | None = None, mode: str | None = None) -> Any:
        """A plotly ``Figure``: ``metric`` against ``training_iteration``, one line per trial (past
        30 trials, the 10 best by ``mode`` in color and the rest in grey). Drawn by tune-report.

        Raises:
            TuneError: tune-report is not installed, or ``metric`` is not one the trials reported.
        """
        metric, mode = self._figure_args(metric, mode)
        return _report_figures().learning_curves(self, metric, mode)

    def _figure_args(self, metric: str | None, mode: str | None) -> tuple[str | None, str | None]:
        metric = metric or self.default_metric
        mode = mode or self.default_mode
        if mode is not None:
            _check_mode(mode)
        if metric is not None and metric not in self.metrics:
            raise self._no_metric(metric)
        return metric, mode

    # ---- the best trial --------------------------------------------------------------------------
    def _best(
        self, metric: str | None, mode: str | None, scope: str
    ) -> tuple[_TrialRecord, dict[str, Any]]:
        metric, mode = self._resolve(metric, mode)
        scope = _check_scope(scope)
        chosen: tuple[float, _TrialRecord, dict[str, Any]] | None = None
        for t in self._trials:
            best = t.best(metric, mode, scope)
            if best is not None and (chosen is None or _better(best[0], chosen[0], mode)):
                chosen = (best[0], t, best[1])
        if chosen is None:
            raise self._no_metric(metric)
        return chosen[1], chosen[2]

    def get_best_trial_id(
        self, metric: str | None = None, mode: str | None = None, scope: str = "all"
    ) -> str:
        """Id of the trial with the best ``metric``; ``scope="all"`` compares each trial's best result,
        ``"last"`` its last one."""
        return self._best(metric, mode, scope)[0].trial_id

    def get_best_config(
        self, metric: str | None = None, mode: str | None = None, scope: str = "all"
    ) -> dict[str, Any]:
        """Config of the best trial (see ``get_best_trial_id``)."""
        return self._best(metric, mode, scope)[0].config

    def get_best_logdir(
        self, metric: str | None = None, mode: str | None = None, scope: str = "all"
    ) -> str:
        """Directory of the best trial (see ``get_best_trial_id``)."""
        return str(self._best(metric, mode, scope)[0].logdir)

    def get_best_result(
        self, metric: str | None = None, mode: str | None = None, scope: str = "all"
    ) -> dict[str, Any]:
        """The result that made the best trial best (see ``get_best_trial_id``)."""
        return self._best(metric, mode, scope)[1]

    @property
    def best_config(self) -> dict[str, Any]:
        return self.get_best_config()

    @property
    def best_logdir(self) -> str:
        return self.get_best_logdir()

    @property
    def best_result(self) -> dict[str, Any]:
        return self.get_best_result()

    # ---- helpers ---------------------------------------------------------------------------------
    def _resolve(self, metric: str | None, mode: str | None) -> tuple[str, str]:
        metric = metric or self.default_metric
        mode = mode or self.default_mode
        if metric is None:
            raise TuneError(
                "no metric given: pass `metric=` or set `default_metric` on ExperimentAnalysis"
            )
        if mode is None:
            raise TuneError(
                f"no mode given for metric {metric!r}: pass `mode='min'` or `mode='max'`"
            )
        return metric, _check_mode(mode)

    def _no_metric(self, metric: str) -> TuneError:
        present = ", ".join(self.metrics) or "(none: no trial reported a result)"
        return TuneError(
            f"no trial in {str(self.experiment_dir)!r} reported metric {metric!r}; metrics present: {present}"
        )


def _report_figures() -> Any:
    """``tune_report.figures``, imported on first use; a TuneError saying how to install it if absent."""
    try:
        return importlib.import_module("tune_report.figures")
    except ModuleNotFoundError as exc:
        if exc.name not in ("tune_report", "plotly") and not (exc.name or "").startswith("tune_report."):
            raise
        raise TuneError(
            f"figures of an experiment need the tune-report plugin ({exc.name} is not installed): "
            "pip install tune-report (from a tune-core checkout: pip install plugins/tune-report)"
        ) from exc


def _better(value: float, than: float, mode: str) -> bool:
    return value > than if mode == "max" else value < than


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise TuneError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


def _check_scope(scope: str) -> str:
    if scope not in _SCOPES:
        raise TuneError(f"scope must be 'all' or 'last', got {scope!r}")
    return scope


def trial_dirs(experiment_dir: Path) -> list[Path]:
    """Subdirectories holding a params.json or result.json, in name order."""
    with os.scandir(experiment_dir) as entries:
        dirs = sorted(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
    return [d for d in dirs if (d / "params.json").exists() or (d / RESULT_FILE).exists()]


def _read_statuses(experiment_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """trial_id and directory name -> status: of every run (earlier runs' set-aside states, oldest
    first, then the latest), and of the latest run alone.

    Raises:
        TuneError: if ``experiment_state.json`` is damaged (a set-aside one that is, is skipped).
    """
    from tune_core.logwriter import wait_for_pending_writes
    from tune_core.state import ExperimentState

    wait_for_pending_writes()  # A run in this process may still be writing its last state.
    latest = ExperimentState.statuses_in(experiment_dir)
    statuses: dict[str, str] = {}
    for earlier in sorted(experiment_dir.glob("experiment_state-*.json")):
        try:
            statuses.update(ExperimentState.statuses_in(experiment_dir, earlier))
        except TuneError as exc:
            log.warning("%s", exc)
    statuses.update(latest)
    return statuses, latest
