"""Console status: the seed's ``== Status ==`` block, throttling, verbosity, the live terminal table."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from tune_core.errors import TuneError
from tune_core.reporter import (
    StatusReporter,
    StatusSnapshot,
    best_trial,
    format_best,
    format_progress,
    format_status,
    format_timing,
)
from tune_core.resources import Resources
from tune_core.trial import Trial

SEED_BLOCK = """\
== Status ==
Using FIFO scheduling algorithm.
Resources used: 4/8 CPUs, 0/0 GPUs
Result logdir: /home/u/tune_results/my_experiment
Number of trials: 6 (4 RUNNING, 2 TERMINATED)
RUNNING trials:
 - train_func_0_lr=0.2,momentum=1:\tRUNNING [pid=6778], 209 s, 20604 ts, 7.29 acc
 - train_func_1_lr=0.4,momentum=1:\tRUNNING [pid=6780], 208 s, 20522 ts, 53.1 acc
 - train_func_3_lr=0.2,momentum=2:\tRUNNING [pid=6791], 208 s, 41004 ts, 8.37 acc
 - train_func_4_lr=0.4,momentum=2:\tRUNNING [pid=6800], 209 s, 41204 ts, 70.1 acc
TERMINATED trials:
 - train_func_2_lr=0.6,momentum=1:\tTERMINATED [pid=6789], 21 s, 2190 ts, 100 acc
 - train_func_5_lr=0.6,momentum=2:\tTERMINATED [pid=6809], 10 s, 2164 ts, 100 acc
"""

SEED_TRIALS = [
    # index, lr, momentum, status, pid, seconds, timesteps, accuracy
    (0, 0.2, 1, "RUNNING", 6778, 209.7, 20604, 7.2913),
    (1, 0.4, 1, "RUNNING", 6780, 208.2, 20522, 53.14),
    (2, 0.6, 1, "TERMINATED", 6789, 21.9, 2190, 100.0),
    (3, 0.2, 2, "RUNNING", 6791, 208.0, 41004, 8.371),
    (4, 0.4, 2, "RUNNING", 6800, 209.1, 41204, 70.06),
    (5, 0.6, 2, "TERMINATED", 6809, 10.4, 2164, 100.0),
]


def seed_trials() -> list[Trial]:
    trials = []
    for i, lr, mom, status, pid, secs, ts, acc in SEED_TRIALS:
        trial = Trial(
            "train_func",
            config={"lr": lr, "momentum": mom},
            experiment_tag=f"{i}_lr={lr},momentum={mom}",
        )
        trial.status, trial.location = status, f"pid={pid}"
        trial.last_result = {
            "time_total_s": secs,
            "timesteps_total": ts,
            "mean_accuracy": acc,
            "training_iteration": 7,
        }
        trials.append(trial)
    return trials


def snapshot(trials: list[Trial] | None = None, **kw) -> StatusSnapshot:
    return StatusSnapshot(
        trials=seed_trials() if trials is None else trials,
        scheduler_line="Using FIFO scheduling algorithm.",
        used=Resources(cpu=4),
        total=Resources(cpu=8),
        logdirs=["/home/u/tune_results/my_experiment"],
        **kw,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_seed_block_exactly():
    assert format_status(snapshot()) == SEED_BLOCK


def test_progress_variants():
    trial = Trial("f", experiment_tag="0")
    assert format_progress(trial) == "PENDING"
    trial.status, trial.location = "RUNNING", "node1 pid=7"
    trial.last_result = {
        "time_total_s": 3.9,
        "training_iteration": 12,
        "episode_reward_mean": 1234.5,
        "mean_loss": 0.012345,
    }
    assert (
        format_progress(trial) == "RUNNING [node1 pid=7], 3 s, 12 iter, 1.23e+03 rew, 0.0123 loss"
    )
    trial.last_result = {
        "time_total_s": 1,
        "training_iteration": 1,
        "f1": 0.87654,
        "mean_accuracy": 0.5,
    }
    assert (
        format_progress(trial, metric="f1")
        == "RUNNING [node1 pid=7], 1 s, 1 iter, 0.5 acc, 0.877 f1"
    )
    assert (
        format_progress(trial, metric="mean_accuracy")
        == "RUNNING [node1 pid=7], 1 s, 1 iter, 0.5 acc"
    )
    trial.status, trial.num_failures, trial.error_file = "ERROR", 2, "/r/t/error.txt"
    assert format_progress(trial) == "ERROR, 2 failures: /r/t/error.txt"


def test_rows_shared_fairly_among_states():
    trials = []
    for i in range(30):
        t = Trial("f", experiment_tag=str(i))
        t.status = "TERMINATED" if i < 25 else ("RUNNING" if i < 29 else "ERROR")
        t.error_file = "/e"
        trials.append(t)
    block = format_status(snapshot(trials), max_rows=10)
    assert "Number of trials: 30 (1 ERROR, 4 RUNNING, 25 TERMINATED)" in block
    lines = block.splitlines()
    assert sum(1 for line in lines if line.startswith(" - ")) == 10
    assert lines[lines.index("TERMINATED trials:") + 6] == "  ... 20 more not shown"
    assert "RUNNING trials:" in lines and "  ... " not in lines[lines.index("RUNNING trials:") + 5]


def test_resources_line_with_fractions_and_custom():
    snap = snapshot([])
    snap.used = Resources(cpu=1.5, gpu=0.5, custom={"tpu": 1})
    snap.total = Resources(cpu=8, gpu=1, custom={"tpu": 4})
    block = format_status(snap)
    assert "Resources used: 1.5/8 CPUs, 0.5/1 GPUs, 1/4 tpu\n" in block
    assert "Number of trials: 0\n" in block


def test_throttled_plain_blocks():
    out, clock = io.StringIO(), Clock()
    reporter = StatusReporter(stream=out, min_interval_s=5.0, clock=clock)
    snap = snapshot()
    reporter.update(snap)  # the first one always prints
    clock.now += 1
    assert not reporter.due()
    reporter.update(snap)
    clock.now += 3.9
    reporter.update(snap)
    assert out.getvalue().count("== Status ==") == 1
    clock.now += 0.2
    reporter.update(snap)
    assert out.getvalue().count("== Status ==") == 2
    reporter.update(snapshot(finished=True), force=True)
    assert out.getvalue().count("== Status ==") == 3
    assert out.getvalue() == (SEED_BLOCK + "\n") * 3
    reporter.close()


def test_verbose_zero_is_silent():
    out = FakeTTY()
    reporter = StatusReporter(verbose=0, stream=out)
    trial = seed_trials()[2]
    reporter.update(snapshot(), force=True)
    reporter.trial_finished(trial)
    reporter.update(snapshot(finished=True), force=True)
    reporter.close()
    assert out.getvalue() == ""
    assert not reporter.due(force=True)


def test_verbose_two_announces_each_finished_trial_once():
    out, clock = io.StringIO(), Clock()
    reporter = StatusReporter(verbose=2, stream=out, clock=clock)
    trials = seed_trials()
    trials[0].status, trials[0].error_file = "ERROR", "/r/error.txt"
    reporter.trial_finished(trials[2])
    reporter.update(snapshot(trials), force=True)
    reporter.update(snapshot(trials), force=True)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Trial ")]
    assert lines == [
        "Trial train_func_2_lr=0.6,momentum=1 completed: training_iteration=7, time_total_s=21.9, "
        "timesteps_total=2190, mean_accuracy=100",
        "Trial train_func_0_lr=0.2,momentum=1 errored: see /r/error.txt",
        "Trial train_func_5_lr=0.6,momentum=2 completed: training_iteration=7, time_total_s=10.4, "
        "timesteps_total=2164, mean_accuracy=100",
    ]


def test_verbose_one_prints_no_trial_lines():
    out = io.StringIO()
    reporter = StatusReporter(verbose=1, stream=out)
    reporter.trial_finished(seed_trials()[2])
    assert out.getvalue() == ""


def test_live_table_on_a_terminal():
    out, clock = FakeTTY(), Clock()
    reporter = StatusReporter(stream=out, clock=clock, metric="mean_accuracy")
    assert reporter.live and reporter.interval == 0.25
    reporter.update(snapshot(total_trials=12))
    clock.now += 0.1
    assert not reporter.due()
    clock.now += 0.2
    trials = seed_trials()
    trials[0].status = "TERMINATED"
    reporter.update(snapshot(trials, total_trials=12, finished=True), force=True)
    reporter.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "== Status ==" not in text
    assert "3/12 trials finished" in text
    assert "Trial name" in text and "train_func_0_lr=0.2,momentum=1" in text
    assert "lr" in text and "momentum" in text  # the searched config keys are columns


def test_plain_mode_does_not_import_rich():
    code = (
        "import io, sys\n"
        "from tune_core.reporter import StatusReporter, StatusSnapshot\n"
        "StatusReporter(stream=io.StringIO()).update(StatusSnapshot(trials=[]), force=True)\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_timing_elapsed_and_time_left():
    assert format_timing(4.2, 0, 12) == "elapsed 0:00:04, time left ?"
    # 3 trials in 30 s: 9 more take about 90 s.
    assert format_timing(30, 3, 12) == "elapsed 0:00:30, about 0:01:30 left"
    assert format_timing(3725, 1, 2) == "elapsed 1:02:05, about 1:02:05 left"
    # A resumed run: the 5 trials finished before it took none of its time.
    assert format_timing(20, 7, 12, finished_before=5) == "elapsed 0:00:20, about 0:00:50 left"
    assert format_timing(20, 5, 12, finished_before=5) == "elapsed 0:00:20, time left ?"
    assert format_timing(20, 3, None) == "elapsed 0:00:20"  # The total is unknown: no estimate.
    assert format_timing(61, 12, 12, done=True) == "elapsed 0:01:01"


def test_best_trial_by_mode_over_all_results():
    trials = seed_trials()
    for trial in trials:
        trial.update_last_result(trial.last_result)
    trials[1].update_last_result({**trials[1].last_result, "mean_accuracy": 1.0})  # Fell from 53.14.
    best, value = best_trial(trials, "mean_accuracy", "max")
    assert (best.name, value) == ("train_func_2_lr=0.6,momentum=1", 100.0)
    assert best_trial(trials, "mean_accuracy", "min")[1] == 1.0
    # A metric metric_analysis does not keep comes from the last result.
    assert best_trial(trials, "time_total_s", "max")[1] == 209.7
    assert best_trial(trials, "nothing", "max") is None
    assert best_trial([], "mean_accuracy", "max") is None
    odd = Trial("f", experiment_tag="odd")
    odd.last_result = {"mean_accuracy": float("nan")}
    assert best_trial([odd], "mean_accuracy", "max") is None


def test_best_text_names_the_trial_and_its_config():
    trial = Trial("f", config={"lr": 0.1, "net": {"depth": 3, "act": "relu"}}, experiment_tag="0")
    assert format_best(trial, 0.98765, "acc", "max") == (
        "f_0 with acc=0.9877 (max) and config lr=0.1, net/depth=3, net/act=relu"
    )
    assert format_best(trial, 2, "loss", "min", keys=["net/depth"]) == (
        "f_0 with loss=2 (min) and config net/depth=3"
    )
    trial.config = {"text": "x" * 500}
    assert format_best(trial, 1, "acc", "max").endswith("x...")
    assert len(format_best(trial, 1, "acc", "max")) < 260


def test_plain_block_names_the_best_trial_given_metric_and_mode():
    trials = seed_trials()
    assert format_status(snapshot(trials), metric="mean_accuracy") == SEED_BLOCK
    block = format_status(snapshot(trials), metric="mean_accuracy", mode="min").splitlines()
    assert block[3] == (
        "Current best trial: train_func_0_lr=0.2,momentum=1 with mean_accuracy=7.291 (min) "
        "and config lr=0.2, momentum=1"
    )
    assert "\n".join(block[:3] + block[4:]) + "\n" == SEED_BLOCK
    assert format_status(snapshot(trials), metric="f1", mode="max") == SEED_BLOCK  # Not reported.


def test_bad_mode_is_an_error():
    with pytest.raises(TuneError, match=r"`mode` must be 'max' or 'min', got 'maximum'"):
        StatusReporter(mode="maximum")


def test_live_frame_with_elapsed_time_left_and_best():
    out, clock = FakeTTY(), Clock()
    reporter = StatusReporter(stream=out, clock=clock, metric="mean_accuracy", mode="max")
    trials = seed_trials()
    for trial in trials:
        trial.update_last_result(trial.last_result)
    trials[2].config["lr"] = "[bold]x[/]"  # Text, not rich markup.
    reporter.update(snapshot(trials, total_trials=12))
    clock.now += 30
    trials[0].status = "TERMINATED"
    reporter.update(snapshot(trials, total_trials=12))
    clock.now += 15
    reporter.update(snapshot(trials, total_trials=None))
    clock.now += 15
    reporter.update(snapshot(trials, total_trials=12, finished=True), force=True)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    # The first draw is the run's start; 2 trials had finished before it (a resumed run).
    assert "2/12 trials finished, elapsed 0:00:00, time left ?" in text
    assert "3/12 trials finished, elapsed 0:00:30, about 0:04:30 left" in text
    assert "3/6 trials finished, elapsed 0:00:45\n" in text  # Unknown total: no estimate.
    assert "3/12 trials finished, elapsed 0:01:00\n" in text  # Done.
    assert "Best so far: train_func_2_lr=0.6,momentum=1 with mean_accuracy=100 (max) and config " \
           "lr=[bold]x[/], momentum=1" in " ".join(text.split())


def test_no_best_without_mode():
    out = FakeTTY()
    reporter = StatusReporter(stream=out, metric="mean_accuracy")
    reporter.update(snapshot(total_trials=6, finished=True), force=True)
    assert "trials finished" in out.getvalue() and "Best so far" not in out.getvalue()
