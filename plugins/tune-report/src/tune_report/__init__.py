"""tune-report: a self-contained HTML report of a tune-core experiment, and its figures.

``parallel_coordinates(analysis, metric, mode)`` and ``learning_curves(analysis, metric)`` return
plotly figures (they display in Jupyter); ``write_report(experiment_dir, path)`` writes both, with
the table of best trials, into one HTML file that embeds plotly.js. The names load on first use, so
the plugin module that ``tune-core`` imports on every call does not import plotly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tune_report.figures import learning_curves, parallel_coordinates
    from tune_report.report import ReportInfo, write_report

__all__ = ["ReportInfo", "learning_curves", "parallel_coordinates", "write_report"]

_WHERE = {
    "learning_curves": "tune_report.figures",
    "parallel_coordinates": "tune_report.figures",
    "ReportInfo": "tune_report.report",
    "write_report": "tune_report.report",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tune_report' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
