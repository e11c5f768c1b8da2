"""The console status of a running experiment: the seed's ``== Status ==`` block, or a live table.

The runner builds a ``StatusSnapshot`` and calls ``StatusReporter.update`` as often as it likes; the
reporter decides when to draw. On a pipe or file it prints plain blocks at most every
``min_interval_s``; on a terminal it keeps one rich ``Live`` display (rich is imported only then):
a progress bar of finished/total trials with the elapsed time and an estimate of the time left, the
best result so far (given ``metric`` and ``mode``) and a table of the trials. Its last frame stays
on screen when the run ends.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from tune_core.errors import TuneError
from tune_core.resources import Resources
from tune_core.trial import ERROR, TERMINATED, Trial

__all__ = [
    "StatusReporter",
    "StatusSnapshot",
    "best_trial",
    "format_best",
    "format_progress",
    "format_status",
    "format_timing",
]

#: Metrics of the seed's status line, with their short labels.
_SHOWN = (("episode_reward_mean", "rew"), ("mean_loss", "loss"), ("mean_accuracy", "acc"))
_LIVE_INTERVAL_S = 0.25
#: The best trial's config is cut to this many characters: a config may hold long values.
_MAX_CONFIG_CHARS = 200


@dataclass
class StatusSnapshot:
    """What the status shows, as the runner sees it now."""

    trials: Sequence[Trial]
    scheduler_line: str = ""
    used: Resources = field(default_factory=lambda: Resources(cpu=0.0))
    total: Resources = field(default_factory=lambda: Resources(cpu=0.0))
    #: The executor's own line (``Executor.status_line``), e.g. a Ray cluster's nodes.
    executor_line: str = ""
    logdirs: Sequence[str] = ()
    total_trials: int | None = None
    finished: bool = False


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _short(value: float) -> str:
    """Whole numbers in full (``20604``), others to 4 significant digits."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def format_progress(trial: Trial, metric: str | None = None) -> str:
    """``RUNNING [pid=6778], 209 s, 20604 ts, 7.29 acc``: one trial's part of the status block."""
    if trial.status == ERROR:
        failures = trial.num_failures
        return f"ERROR, {failures} failure{'' if failures == 1 else 's'}: {trial.error_file}"
    parts = [f"{trial.status} [{trial.location}]" if trial.location else trial.status]
    result = trial.last_result
    if result:
        if (t := _num(result.get("time_total_s"))) is not None:
            parts.append(f"{int(t)} s")
        if (ts := _num(result.get("timesteps_total"))) is not None:
            parts.append(f"{int(ts)} ts")
        elif (it := _num(result.get("training_iteration"))) is not None:
            parts.append(f"{int(it)} iter")
        for key, label in _SHOWN:
            if (v := _num(result.get(key))) is not None:
                parts.append(f"{v:.3g} {label}")
        if metric and metric not in dict(_SHOWN) and (v := _num(result.get(metric))) is not None:
            parts.append(f"{v:.3g} {metric}")
    return ", ".join(parts)


def _by_state(trials: Iterable[Trial]) -> dict[str, list[Trial]]:
    groups: dict[str, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(trial.status, []).append(trial)
    return dict(sorted(groups.items()))


def _allot(counts: dict[str, int], budget: int) -> dict[str, int]:
    """Share ``budget`` rows fairly: small groups are shown whole, the rest split what is left."""
    if sum(counts.values()) <= budget:
        return dict(counts)
    alloc: dict[str, int] = {}
    left = budget
    ordered = sorted(counts.items(), key=lambda kv: kv[1])
    for i, (state, n) in enumerate(ordered):
        alloc[state] = min(n, left // (len(ordered) - i))
        left -= alloc[state]
    return alloc


def _resources_line(used: Resources, total: Resources) -> str:
    parts = [
        f"{_fmt(used.total_cpu)}/{_fmt(total.total_cpu)} CPUs",
        f"{_fmt(used.total_gpu)}/{_fmt(total.total_gpu)} GPUs",
    ]
    for name in sorted(set(total.custom) | set(used.custom)):
        parts.append(
            f"{_fmt(used.custom.get(name, 0.0))}/{_fmt(total.custom.get(name, 0.0))} {name}"
        )
    return "Resources used: " + ", ".join(parts)


def format_status(
    snapshot: StatusSnapshot,
    max_rows: int = 20,
    metric: str | None = None,
    mode: str | None = None,
) -> str:
    """The seed's ``== Status ==`` block, ending with a newline.

    Given ``metric`` and ``mode``, a ``Current best trial: ...`` line (as later Ray Tune printed)
    comes before the logdirs once a trial reported the metric; otherwise the block is the seed's.
    """
    lines = ["== Status =="]
    if snapshot.scheduler_line:
        lines.append(snapshot.scheduler_line)
    lines.append(_resources_line(snapshot.used, snapshot.total))
    if snapshot.executor_line:
        lines.append(snapshot.executor_line)
    if metric and mode and (best := best_trial(snapshot.trials, metric, mode)) is not None:
        lines.append("Current best trial: " + format_best(best[0], best[1], metric, mode))
    lines += [f"Result logdir: {d}" for d in snapshot.logdirs]
    groups = _by_state(snapshot.trials)
    counts = {state: len(group) for state, group in groups.items()}
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    lines.append(f"Number of trials: {len(snapshot.trials)}" + (f" ({summary})" if summary else ""))
    alloc = _allot(counts, max_rows)
    for state, group in groups.items():
        lines.append(f"{state} trials:")
        lines += [f" - {t.name}:\t{format_progress(t, metric)}" for t in group[: alloc[state]]]
        if len(group) > alloc[state]:
            lines.append(f"  ... {len(group) - alloc[state]} more not shown")
    return "\n".join(lines) + "\n"


def best_trial(trials: Iterable[Trial], metric: str, mode: str) -> tuple[Trial, float] | None:
    """The trial with the best value of ``metric`` any of its results had (``mode`` "max" or
    "min"), as ``ExperimentAnalysis``'s default scope "all" counts it, and that value.

    Reads ``Trial.metric_analysis`` (kept per result by the trial), so it costs one look-up per
    trial; a metric it does not keep (``training_iteration``, a bool) comes from the last result.
    """
    best: Trial | None = None
    best_value = math.nan
    high = mode == "max"
    for trial in trials:
        entry = trial.metric_analysis.get(metric)
        value = _num(entry[1] if high else entry[0]) if entry else None
        if value is None and trial.last_result:
            value = _num(trial.last_result.get(metric))
        if value is not None and (
            best is None or (value > best_value if high else value < best_value)
        ):
            best, best_value = trial, value
    return None if best is None else (best, best_value)


def format_best(
    trial: Trial, value: float, metric: str, mode: str, keys: Sequence[str] | None = None
) -> str:
    """``train_3_lr=0.2 with mean_accuracy=0.95 (max) and config lr=0.2, momentum=2``.

    ``keys`` (flattened config keys, e.g. the searched ones) limit the config shown; the text is
    cut at ``_MAX_CONFIG_CHARS``.
    """
    from tune_core.loggers._files import flatten

    flat = flatten(trial.config)
    shown = [k for k in keys if k in flat] if keys else list(flat)
    config = ", ".join(f"{k}={_config_cell(flat[k])}" for k in shown) or "{}"
    if len(config) > _MAX_CONFIG_CHARS:
        config = config[: _MAX_CONFIG_CHARS - 3] + "..."
    return f"{trial.name} with {metric}={_short(float(value))} ({mode}) and config {config}"


def _clock_text(seconds: float) -> str:
    """``1:02:03``: hours, minutes and seconds."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def format_timing(
    elapsed: float,
    finished: int,
    total: int | None,
    finished_before: int = 0,
    done: bool = False,
) -> str:
    """``elapsed 0:00:12, about 0:00:30 left``.

    The time left is the pace of the trials finished in this run (``finished - finished_before``:
    a resumed run's earlier trials took none of ``elapsed``) times the trials left; ``?`` before
    any finished, and no estimate when the total is unknown or the run is ``done``.
    """
    text = f"elapsed {_clock_text(elapsed)}"
    if done or total is None:
        return text
    here = finished - finished_before
    if here <= 0 or elapsed <= 0:
        return f"{text}, time left ?"
    left = elapsed / here * max(0, total - finished)
    return f"{text}, about {_clock_text(left)} left"


def _completion_line(trial: Trial, metric: str | None) -> str:
    if trial.status == ERROR:
        return f"Trial {trial.name} errored: see {trial.error_file}"
    result = trial.last_result or {}
    keys = ["training_iteration", "time_total_s", "timesteps_total"] + [k for k, _ in _SHOWN]
    if metric and metric not in keys:
        keys.append(metric)
    shown = [f"{k}={_short(v)}" for k in keys if (v := _num(result.get(k))) is not None]
    return f"Trial {trial.name} completed: {', '.join(shown) or 'no results'}"


class StatusReporter:
    """Draws the experiment's status, throttled; cheap to call when nothing is due.

    Args:
        verbose: 0 prints nothing; 1 the status; 2 also one line per finished trial.
        stream: where to write (default ``sys.stdout``); a terminal gets a live table.
        min_interval_s: least time between two plain blocks (the live table redraws up to 4x/s).
        max_rows: trial rows per block, shared fairly among the trial states.
        metric: the experiment's metric, shown when it is not one of the usual ones.
        mode: ``"max"`` or ``"min"``; with ``metric``, the best result so far is shown.
        clock: the time source; tests pass a fake one.
    """

    def __init__(
        self,
        verbose: int = 1,
        stream: IO[str] | None = None,
        min_interval_s: float = 5.0,
        max_rows: int = 20,
        metric: str | None = None,
        mode: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in (None, "max", "min"):
            raise TuneError(f"StatusReporter: `mode` must be 'max' or 'min', got {mode!r}")
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.max_rows = max_rows
        self.metric = metric
        self.mode = mode
        self._clock = clock
        #: When the first status was drawn (the run's start), and how many trials had finished then.
        self._start: float | None = None
        self._finished_before = 0
        self.live = verbose > 0 and _isatty(self.stream)
        self.interval = _LIVE_INTERVAL_S if self.live else min_interval_s
        self._last = -math.inf
        self._announced: set[str] = set()
        self._view: _LiveView | None = None  # created on the first live draw

    def due(self, force: bool = False) -> bool:
        """Whether ``update`` would draw now: lets the runner skip building a snapshot."""
        return self.verbose > 0 and (force or self._clock() - self._last >= self.interval)

    def update(self, snapshot: StatusSnapshot, force: bool = False) -> None:
        """Draw ``snapshot`` if the interval has passed (or ``force``); otherwise return at once."""
        if not self.due(force):
            return
        self._last = self._clock()
        if self._start is None:
            self._start = self._last
            self._finished_before = sum(1 for t in snapshot.trials if t.status in (TERMINATED, ERROR))
        if self.verbose >= 2:
            for trial in snapshot.trials:
                if trial.status in (TERMINATED, ERROR):
                    self.trial_finished(trial)
        if self.live:
            if self._view is None:
                self._view = _LiveView(self.stream)
            self._view.draw(
                snapshot,
                self.max_rows,
                self.metric,
                self.mode,
                elapsed=self._last - self._start,
                finished_before=self._finished_before,
            )
            if snapshot.finished:
                self.close()
        else:
            self.stream.write(format_status(snapshot, self.max_rows, self.metric, self.mode) + "\n")
            self.stream.flush()

    def trial_finished(self, trial: Trial) -> None:
        """With ``verbose >= 2``, print once that ``trial`` completed or errored."""
        if self.verbose < 2 or trial.trial_id in self._announced:
            return
        self._announced.add(trial.trial_id)
        line = _completion_line(trial, self.metric)
        if self._view is not None:
            self._view.print(line)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Stop the live display, leaving its last frame on screen."""
        if self._view is not None:
            self._view.stop()
            self._view = None


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _LiveView:
    """The terminal display: a progress bar over the trials with the elapsed time and the time
    left, the best result so far, and a table of the trials (rich, imported lazily)."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        own = stream is sys.stdout
        self.live = Live(
            console=self.console, auto_refresh=False, redirect_stdout=own, redirect_stderr=own
        )
        self.live.start()
        self.configs: dict[str, dict[str, str]] = {}
        self.first: dict[str, str] = {}
        self.searched: list[str] = []

    def _track(self, trials: Sequence[Trial]) -> None:
        """Learn, once per new trial, which config keys differ between trials (the searched ones)."""
        from tune_core.loggers._files import flatten

        for trial in trials:
            if trial.trial_id in self.configs:
                continue
            flat = {k: _config_cell(v) for k, v in flatten(trial.config).items()}
            for key, value in flat.items():
                if key in self.searched:
                    continue
                if (key not in self.first and self.configs) or self.first.setdefault(
                    key, value
                ) != value:
                    self.searched.append(key)
            self.configs[trial.trial_id] = flat

    def draw(
        self,
        snapshot: StatusSnapshot,
        max_rows: int,
        metric: str | None,
        mode: str | None = None,
        elapsed: float = 0.0,
        finished_before: int = 0,
    ) -> None:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text  # Names and configs are text: "[...]" in them is no markup.

        self._track(snapshot.trials)
        trials = snapshot.trials
        done = sum(1 for t in trials if t.status in (TERMINATED, ERROR))
        known = snapshot.total_trials
        # Trials added by commands or a scheduler may outnumber what the search announced.
        total = max(known or 0, len(trials))
        numbers = [("training_iteration", "iter"), ("time_total_s", "total time (s)")]
        numbers += [("timesteps_total", "ts"), *_SHOWN]
        if metric and metric not in dict(numbers):
            numbers.append((metric, metric))
        results = [t.last_result for t in trials if t.last_result]
        numbers = [(k, label) for k, label in numbers if any(k in r for r in results)]
        table = Table(show_edge=False, header_style="bold", caption_justify="left")
        for name in ["Trial name", "status", "loc", *self.searched]:
            table.add_column(name, no_wrap=name == "Trial name")
        for _, label in numbers:
            table.add_column(label, justify="right")
        groups = _by_state(trials)
        alloc = _allot({s: len(g) for s, g in groups.items()}, max_rows)
        hidden = 0
        for state, group in groups.items():
            hidden += len(group) - alloc[state]
            for trial in group[: alloc[state]]:
                r = trial.last_result or {}
                cfg = self.configs.get(trial.trial_id, {})
                cells = [trial.name, trial.status, trial.location]
                cells += [cfg.get(k, "") for k in self.searched]
                cells += [_cell(r.get(k)) for k, _ in numbers]
                table.add_row(*map(Text, cells))
        if hidden:
            table.caption = f"... {hidden} more not shown"
        head = f"{snapshot.scheduler_line}  {_resources_line(snapshot.used, snapshot.total)}"
        if snapshot.executor_line:
            head = f"{head.strip()}\n{snapshot.executor_line}"
        progress = Table.grid(padding=(0, 1))
        timing = format_timing(
            elapsed, done, total if known is not None else None, finished_before, snapshot.finished
        )
        counts = f"{done}/{total} trials finished, {timing}"
        # The bar gives way to the text on a narrow terminal rather than wrap the line.
        width = min(40, max(10, self.console.width - len(counts) - 1))
        progress.add_row(ProgressBar(total=max(total, 1), completed=done, width=width), counts)
        parts: list[Any] = [Text(head.strip()), progress]
        if metric and mode and (best := best_trial(trials, metric, mode)) is not None:
            best_line = format_best(best[0], best[1], metric, mode, self.searched)
            parts.append(Text("Best so far: " + best_line))
        self.live.update(Group(*parts, table), refresh=True)

    def print(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False)

    def stop(self) -> None:
        self.live.stop()


def _config_cell(value: Any) -> str:
    v = _num(value)
    return str(value) if v is None else _short(v)


def _cell(value: Any) -> str:
    v = _num(value)
    return "" if v is None else _short(v)
