"""``write_report``: one self-contained HTML file of an experiment.

plotly.js is embedded once in the page's head (no CDN, no MathJax), so the file opens with no
network; each figure is plotly's own ``to_html`` fragment. The file is written to a temporary name
beside its destination and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from tune_core import ExperimentAnalysis, TuneError
from tune_report.data import TrialTable, choose_metric, choose_mode, config_axes, trial_table
from tune_report.figures import STEP, curves_figure, parcoords_figure

__all__ = ["ReportInfo", "write_report"]

#: The ids of the figures' divs in the page (what a test or a script looks up).
PARCOORDS_ID = "parallel-coordinates"
CURVES_ID = "learning-curves"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.facts, .note { color: #555; font-size: 0.9em; } code { background: #f3f3f3; padding: 0 0.2em; }
table.best { border-collapse: collapse; font-size: 0.85em; }
table.best th, table.best td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
table.best th { background: #f6f6f6; }
"""


@dataclass(frozen=True)
class ReportInfo:
    """What ``write_report`` wrote: where, about which metric and mode, and how many trials."""

    path: Path
    metric: str
    mode: str
    trials: int
    #: Trials left out because they never reported the metric.
    missing: int = 0
    #: Config keys with one value in every trial (listed in the report, not plotted).
    constant: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def write_report(experiment_dir: str | os.PathLike[str] | ExperimentAnalysis,
                 path: str | os.PathLike[str] = "report.html", metric: str | None = None,
                 mode: str | None = None, *, top: int = 10, title: str | None = None) -> ReportInfo:
    """Write ``path``: the parallel-coordinates plot, the learning curves and the ``top`` best trials.

    Args:
        experiment_dir: ``<local_dir>/<experiment name>``, or an ``ExperimentAnalysis`` of it.
        metric: the metric to rank and color by; default: the analysis's default metric, else
            ``mean_accuracy``, ``episode_reward_mean``, ``mean_loss``, ... (the first reported),
            else the only non-automatic metric.
        mode: ``"max"`` or ``"min"``; default: the analysis's default mode, else the known direction
            of the metric (``*_loss`` is ``min``, ``*_accuracy`` ``max``).
        top: rows in the table of best trials.

    Raises:
        TuneError: no such directory, an unknown metric (naming those there are), no mode to be
            found, or ``top`` < 1.
    """
    start = time.perf_counter()
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TuneError(f"top must be a whole number >= 1, got {top!r}")
    analysis = (experiment_dir if isinstance(experiment_dir, ExperimentAnalysis)
                else ExperimentAnalysis(experiment_dir, latest_run=True, strict=False))
    metric = choose_metric(analysis, metric)
    chosen = choose_mode(analysis, metric, mode, required=True)
    assert chosen is not None
    table = trial_table(analysis, metric, chosen)
    constant = config_axes(table)[1]
    parcoords = parcoords_figure(table)
    curves = curves_figure(analysis.trial_dataframes.values(), table)
    page = _page(analysis, table, constant, title or analysis.experiment_dir.name, [
        ("Parallel coordinates", _note_parcoords(table, constant), _fragment(parcoords, PARCOORDS_ID)),
        ("Learning curves", "", _fragment(curves, CURVES_ID)),
        (f"Best {min(top, len(table.frame))} trials", "", _best_table(analysis, table, top, constant)),
    ])
    target = Path(os.path.expanduser(os.fspath(path)))
    _write_atomically(target, page)
    return ReportInfo(path=target, metric=metric, mode=chosen, trials=len(table.frame),
                      missing=len(table.missing), constant=constant,
                      seconds=time.perf_counter() - start)


def _fragment(figure: Any, div_id: str) -> str:
    return str(pio.to_html(figure, full_html=False, include_plotlyjs=False, include_mathjax=False,
                           div_id=div_id, config=_PLOT_CONFIG))


def _page(analysis: ExperimentAnalysis, table: TrialTable, constant: dict[str, Any], title: str,
          sections: list[tuple[str, str, str]]) -> str:
    statuses: dict[str, int] = {}
    for status in analysis.trial_statuses.values():
        statuses[status or "unknown"] = statuses.get(status or "unknown", 0) + 1
    facts = [
        f"<code>{html.escape(str(analysis.experiment_dir))}</code>",
        f"{len(analysis.trial_ids)} trials ("
        + ", ".join(f"{n} {html.escape(s)}" for s, n in sorted(statuses.items())) + ")",
        f"metric <code>{html.escape(table.metric)}</code>, mode <code>{table.mode}</code>",
        time.strftime("written %Y-%m-%d %H:%M"),
    ]
    notes = []
    if analysis.state_problem:
        notes.append(f"Trial statuses unknown: {html.escape(analysis.state_problem)}")
    if analysis.earlier_runs:
        notes.append(f"{analysis.earlier_runs} trial directories of earlier runs of this experiment are left out.")
    body = "".join(
        f"<h2>{html.escape(name)}</h2>\n{f'<p class=note>{note}</p>' if note else ''}\n{content}\n"
        for name, note, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        f"<title>{html.escape(title)}: tune-core report</title>\n<style>{_STYLE}</style>\n"
        f"<script>{get_plotlyjs()}</script>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p class=facts>{' · '.join(facts)}</p>\n"
        + "".join(f"<p class=note>{n}</p>\n" for n in notes)
        + body + "</body>\n</html>\n"
    )


def _note_parcoords(table: TrialTable, constant: dict[str, Any]) -> str:
    notes = [f"One line per trial, colored by {html.escape(table.metric)} "
             f"(each trial's best, {table.mode}; brightest is best). Drag along an axis to filter."]
    if constant:
        same = ", ".join(f"<code>{html.escape(k)}={html.escape(repr(v))}</code>" for k, v in constant.items())
        notes.append(f"Left out, the same in every trial: {same}.")
    if table.missing:
        notes.append(f"{len(table.missing)} trials never reported {html.escape(table.metric)} and are not shown: "
                     + html.escape(", ".join(table.missing[:20])) + (", ..." if len(table.missing) > 20 else ""))
    return "<br>".join(notes)


def _best_table(analysis: ExperimentAnalysis, table: TrialTable, top: int, constant: dict[str, Any]) -> str:
    import pandas as pd

    best: pd.DataFrame = table.ranked().head(top).reset_index(drop=True)
    statuses = analysis.trial_statuses
    columns = {"trial_id": best["trial_id"],
               table.metric: best[table.metric],
               "status": [statuses.get(str(t)) or "" for t in best["trial_id"]]}
    if STEP in best.columns:
        columns[f"at {STEP}"] = best[STEP]
    for column in table.config_columns:
        if column[len("config/"):] not in constant:
            columns[column[len("config/"):]] = best[column]
    frame = pd.DataFrame(columns)
    frame.index = range(1, len(frame) + 1)
    return str(frame.to_html(classes="best", border=0, na_rep="", float_format=lambda v: f"{v:.6g}",
                             index_names=False))


def _write_atomically(target: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
