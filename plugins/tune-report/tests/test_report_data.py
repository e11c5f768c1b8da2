"""What the figures show, read back from the plotly objects: axes, their kinds and ticks, the
metric and mode chosen, the trials left out, and the core's ``ExperimentAnalysis`` methods."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from tune_report import learning_curves, parallel_coordinates, write_report

import tune_core as tune
from tune_core import ExperimentAnalysis, TuneError
from tune_core.testing import ThreadExecutor


def dimensions(figure: go.Figure) -> dict[str, Any]:
    return {d.label: d for d in figure.data[0].dimensions}


def test_axes_by_kind(small_dir: Path) -> None:
    analysis = ExperimentAnalysis(small_dir)
    figure = parallel_coordinates(analysis, "mean_accuracy", "max")
    dims = dimensions(figure)
    assert list(dims) == ["lr (log)", "momentum", "act", "bn", "opt/nesterov", "mean_accuracy (best, max)"]
    assert all(len(d.values) == 8 for d in dims.values())
    assert list(dims["act"].ticktext) == ["relu", "tanh"]
    assert list(dims["bn"].ticktext) == ["False", "True"]
    assert list(dims["opt/nesterov"].ticktext) == ["True", "None"]
    assert dims["momentum"].tickvals is None  # a plain numeric axis
    lr = analysis.dataframe()["config/lr"]
    assert sorted(dims["lr (log)"].values) == pytest.approx(sorted(math.log10(v) for v in lr))
    assert "1e-" in " ".join(dims["lr (log)"].ticktext) or "0.0" in " ".join(dims["lr (log)"].ticktext)
    best = analysis.dataframe("mean_accuracy", "max")["mean_accuracy"]
    assert sorted(figure.data[0].line.color) == pytest.approx(sorted(best))
    assert figure.data[0].line.reversescale is False
    assert "2 keys the same in every trial left out" in figure.layout.title.text


def test_min_mode_reverses_the_colors_and_last_is_used_without_a_mode(small_dir: Path) -> None:
    analysis = ExperimentAnalysis(small_dir)
    assert parallel_coordinates(analysis, "mean_loss", "min").data[0].line.reversescale is True
    dims = dimensions(parallel_coordinates(analysis, "timesteps_total"))
    assert list(dims["timesteps_total (last)"].values) == [60.0] * 8


def test_the_core_methods_delegate_with_the_defaults(small_dir: Path) -> None:
    analysis = ExperimentAnalysis(small_dir, default_metric="mean_loss", default_mode="min")
    figure = analysis.parallel_coordinates()
    assert isinstance(figure, go.Figure)
    assert figure.data[0].dimensions[-1].label == "mean_loss (best, min)"
    curves = analysis.learning_curves()
    assert len(curves.data) == 8 and curves.layout.yaxis.title.text == "mean_loss"
    assert list(curves.data[0].x) == [1, 2, 3, 4, 5, 6]


def test_figures_display_in_jupyter(small_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In a notebook plotly's default renderer includes its MIME type; outside one it is empty.
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    analysis = ExperimentAnalysis(small_dir)
    for figure in (analysis.parallel_coordinates("mean_accuracy"), analysis.learning_curves("mean_accuracy")):
        assert "application/vnd.plotly.v1+json" in figure._repr_mimebundle_()


def test_unknown_metric_names_the_metrics_there_are(small_dir: Path) -> None:
    analysis = ExperimentAnalysis(small_dir)
    for call in (lambda: analysis.parallel_coordinates("acuracy"), lambda: analysis.learning_curves("acuracy"),
                 lambda: parallel_coordinates(analysis, "acuracy"), lambda: write_report(small_dir, metric="acuracy")):
        with pytest.raises(TuneError, match=r"'acuracy'.*mean_accuracy, mean_loss"):
            call()
    with pytest.raises(TuneError, match="mode must be 'min' or 'max', got 'best'"):
        analysis.parallel_coordinates("mean_accuracy", "best")


def test_default_metric_and_mode(small_dir: Path, big_dir: Path, tmp_path: Path) -> None:
    info = write_report(small_dir, tmp_path / "a.html")
    assert (info.metric, info.mode, info.trials) == ("mean_accuracy", "max", 8)
    assert info.constant == {"opt/name": "sgd", "seed": 0}
    with pytest.raises(TuneError, match="no mode for metric 'timesteps_total'"):
        write_report(small_dir, tmp_path / "b.html", metric="timesteps_total")
    with pytest.raises(TuneError, match="top must be a whole number >= 1, got 0"):
        write_report(small_dir, tmp_path / "c.html", top=0)
    assert not (tmp_path / "b.html").exists() and not (tmp_path / "c.html").exists()


def test_no_usual_metric_lists_the_choices(tmp_path: Path) -> None:
    def two_metrics(config: dict[str, Any], reporter: Any) -> None:
        reporter(alpha=config["x"], beta=-config["x"])

    tune.run_experiments({"two": {"run": two_metrics, "local_dir": str(tmp_path),
                                  "config": {"x": tune.grid_search([1, 2])}}},
                         executor=ThreadExecutor(2), verbose=0)
    with pytest.raises(TuneError, match=r"no metric given .*: alpha, beta"):
        write_report(tmp_path / "two", tmp_path / "r.html")
    info = write_report(tmp_path / "two", tmp_path / "r.html", metric="beta", mode="max")
    assert info.trials == 2


def test_trials_without_the_metric_are_left_out_and_named(tmp_path: Path) -> None:
    def sometimes(config: dict[str, Any], reporter: Any) -> None:
        reporter(**({"mean_accuracy": config["x"] / 10} if config["x"] != 3 else {"other": 1.0}))

    tune.run_experiments({"gaps": {"run": sometimes, "local_dir": str(tmp_path),
                                   "config": {"x": tune.grid_search([1, 2, 3])}}},
                         executor=ThreadExecutor(2), verbose=0)
    info = write_report(tmp_path / "gaps", tmp_path / "r.html")
    assert (info.trials, info.missing) == (2, 1)
    assert "1 trials never reported mean_accuracy and are not shown" in (tmp_path / "r.html").read_text()


def test_learning_curves_of_many_trials_share_one_trace(big_dir: Path) -> None:
    analysis = ExperimentAnalysis(big_dir)
    figure = learning_curves(analysis, "score", "max")
    shared, *best = figure.data
    assert shared.name == "990 other trials" and len(best) == 10
    assert sum(1 for x in shared.x if x is None) == 990  # one break between two trials
    top = analysis.dataframe("score", "max").nlargest(10, "score")["trial_id"].tolist()
    assert [trace.name for trace in best] == top
    assert len(learning_curves(analysis, "time_total_s").data) == 1  # no mode: no best to pick


def test_the_report_is_self_contained(small_dir: Path, tmp_path: Path) -> None:
    path = write_report(small_dir, tmp_path / "out" / "report.html", top=3).path
    text = path.read_text()
    assert "<script src" not in text and "<link" not in text  # plotly.js is in the page, not fetched
    assert text.count("Plotly.newPlot") == 2
    assert "Best 3 trials" in text and "opt/name=&#x27;sgd&#x27;" in text
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temporary file left
