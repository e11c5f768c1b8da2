"""The two figures, as plotly ``Figure`` objects: they display in Jupyter as they are, and the report
embeds them.

``parallel_coordinates``: one line per trial across every config key that varies, the metric last
and coloring the lines. ``learning_curves``: the metric against ``training_iteration``, one line per
trial; past ``max_traces`` trials the best ``highlight`` keep lines of their own and the rest share
one grey trace, so 1,000 trials stay quick to draw.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

from tune_report.data import TrialTable, choose_metric, choose_mode, config_axes, trial_table

if TYPE_CHECKING:
    import pandas as pd

    from tune_core import ExperimentAnalysis

__all__ = ["learning_curves", "parallel_coordinates", "parcoords_figure"]

#: The x axis of the learning curves, when the results have it (tune-core fills it in).
STEP = "training_iteration"
_OTHERS_COLOR = "rgba(140, 140, 140, 0.35)"


def parallel_coordinates(analysis: ExperimentAnalysis, metric: str | None = None,
                         mode: str | None = None) -> go.Figure:
    """Every varying config key against ``metric``, one line per trial that reported it.

    With a ``mode`` each trial counts with its best value (and the best trials are the brightest),
    without one with its last. ``metric``/``mode`` default as in ``write_report``.

    Raises:
        TuneError: an unknown metric (naming those there are) or mode.
    """
    metric = choose_metric(analysis, metric)
    return parcoords_figure(trial_table(analysis, metric, choose_mode(analysis, metric, mode)))


def parcoords_figure(table: TrialTable) -> go.Figure:
    """The parallel-coordinates figure of an already-read ``TrialTable``."""
    axes, constant = config_axes(table)
    dimensions: list[dict[str, Any]] = []
    for axis in axes:
        dimension: dict[str, Any] = {"label": axis.label, "values": axis.values}
        if axis.tickvals:
            dimension.update(tickvals=axis.tickvals, ticktext=axis.ticktext)
        dimensions.append(dimension)
    values = table.frame[table.metric].astype(float).tolist()
    how = f"best, {table.mode}" if table.mode else "last"
    dimensions.append({"label": f"{table.metric} ({how})", "values": values})
    title = f"{len(values)} trials: config against {table.metric}"
    if constant:
        title += f" ({len(constant)} key{'s' * (len(constant) != 1)} the same in every trial left out)"
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": values, "colorscale": "Viridis", "showscale": True,
              # The best trials are the brightest in both directions.
              "reversescale": table.mode == "min",
              "colorbar": {"title": {"text": table.metric}}},
    ))
    figure.update_layout(title={"text": title, "font": {"size": 14}, "y": 0.97},
                         margin={"l": 80, "r": 40, "t": 110}, height=500, template="plotly_white")
    return figure


def learning_curves(analysis: ExperimentAnalysis, metric: str | None = None, mode: str | None = None,
                    *, highlight: int = 10, max_traces: int = 30) -> go.Figure:
    """``metric`` against ``training_iteration`` for every trial.

    Up to ``max_traces`` trials each get a line (and a legend entry); beyond that the ``highlight``
    best (with a mode) keep theirs and the rest share one grey trace, whose points still name their
    trial on hover.

    Raises:
        TuneError: an unknown metric (naming those there are) or mode.
    """
    metric = choose_metric(analysis, metric)
    table = trial_table(analysis, metric, choose_mode(analysis, metric, mode))
    return curves_figure(analysis.trial_dataframes.values(), table, highlight=highlight,
                         max_traces=max_traces)


def curves_figure(frames: Iterable[pd.DataFrame], table: TrialTable, *, highlight: int = 10,
                  max_traces: int = 30) -> go.Figure:
    """The learning-curves figure from the trials' result frames (``trial_dataframes``)."""
    metric = table.metric
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for frame in frames:
        if frame.empty or metric not in frame.columns or "trial_id" not in frame.columns:
            continue
        rows = frame[frame[metric].notna()]
        if rows.empty:
            continue
        steps = rows[STEP] if STEP in rows.columns else range(1, len(rows) + 1)
        curves[str(rows["trial_id"].iloc[0])] = ([float(s) for s in steps], rows[metric].astype(float).tolist())
    order = [str(t) for t in table.ranked()["trial_id"] if str(t) in curves]
    ranked = set(order)
    order += [t for t in curves if t not in ranked]
    if len(order) <= max_traces:
        own, shared = order, []
    else:
        own = order[:highlight] if table.mode else []
        shared = order[len(own):]
    figure = go.Figure()
    if shared:
        xs: list[float | None] = []
        ys: list[float | None] = []
        names: list[str | None] = []
        for trial_id in shared:
            x, y = curves[trial_id]
            xs += [*x, None]  # None breaks the line between two trials
            ys += [*y, None]
            names += [trial_id] * len(x) + [None]
        figure.add_trace(go.Scatter(
            x=xs, y=ys, text=names, mode="lines", name=f"{len(shared)} other trials",
            line={"color": _OTHERS_COLOR, "width": 1}, connectgaps=False,
            hovertemplate="%{text}<br>" + STEP + " %{x}<br>" + metric + " %{y}<extra></extra>"))
    for trial_id in own:
        x, y = curves[trial_id]
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=trial_id, line={"width": 2}))
    best = f", the {len(own)} best in color" if shared and own else ""
    figure.update_layout(
        title={"text": f"{metric} per trial ({len(curves)} trials{best})", "font": {"size": 14}},
        xaxis_title=STEP, yaxis_title=metric, height=480, hovermode="closest", template="plotly_white",
        legend={"font": {"size": 10}})
    return figure
