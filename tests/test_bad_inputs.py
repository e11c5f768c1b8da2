"""A corpus of bad inputs a user gives through the Python API: specs, search spaces, components and
their options, trainables. Each must raise ``TuneError`` naming the culprit, from the API boundary
(no runner frames, no chained internals), and write nothing where the run had not started.

State files and checkpoints are in ``test_bad_state.py``, values a trial reports in
``test_bad_worker_inputs.py``, the command line in ``test_cli_newcomer.py`` and below.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tune_core as tune
from tune_core import Experiment, TuneError, register_trainable, run, run_experiments
from tune_core.schedulers import MedianStoppingRule


def train(config: dict[str, Any], reporter: Any) -> None:
    for i in range(3):
        reporter(acc=i / 10, loss=1 - i / 10)


class NotATrainable:
    pass


@dataclass
class Case:
    """``call(local_dir)`` must raise a TuneError matching ``match``; ``writes``: whether it may
    have created the experiment directory (the run got as far as starting trials)."""

    id: str
    call: Callable[[str], Any]
    match: str
    writes: bool = False


def spec(local_dir: str, **entries: Any) -> dict[str, Any]:
    return {"e": {"run": train, "stop": {"training_iteration": 2}, "local_dir": local_dir, **entries}}


def exp(**entries: Any) -> Callable[[str], Any]:
    return lambda d: run_experiments(spec(d, **entries), verbose=0)


def runs(**kwargs: Any) -> Callable[[str], Any]:
    return lambda d: run(train, stop={"training_iteration": 2}, local_dir=d, verbose=0, **kwargs)


def experiments(value: Any, **kwargs: Any) -> Callable[[str], Any]:
    return lambda d: run_experiments(value, verbose=0, **kwargs)


CASES = [
    # --- the spec ------------------------------------------------------------------------------
    Case("unknown-key", exp(stopp={}), r"unknown spec key 'stopp' \(did you mean 'stop'\?\)"),
    Case("missing-run", lambda d: run_experiments({"e": {"local_dir": d}}), r"missing required key `run`"),
    Case("unknown-trainable", exp(run="trian"), r"unknown trainable .*'trian'"),
    Case("unimportable-trainable", exp(run="no_such_module:f"), r"cannot import trainable 'no_such_module:f'"),
    Case("run-not-callable", exp(run=5), r"trainable '?.*must be a function"),
    Case("run-not-a-trainable-class", exp(run=NotATrainable), r"NotATrainable, which does not subclass"),
    Case("spec-not-a-dict", experiments({"e": [1, 2]}), r"experiment 'e': the spec must be a dict"),
    Case("experiments-wrong-type", experiments(5), r"experiments must be an Experiment"),
    Case("name-with-slash", experiments({"a/b": {"run": train}}), r"without '/', got 'a/b'"),
    Case("stop-wrong-type", exp(stop=5), r"`stop` must be a dict .* got 5"),
    Case("stop-threshold-text", exp(stop={"acc": "high"}), r"`stop\.acc` must be a number"),
    Case("stop-function-signature", exp(stop=lambda result: True),
         r"the `stop` function <lambda> at .*test_bad_inputs\.py:\d+ takes \(result\)"),
    Case("stop-function-raises", exp(stop=lambda trial_id, result: result["nope"]),
         r"the `stop` function <lambda> at .*test_bad_inputs\.py:\d+ raised KeyError: 'nope'", writes=True),
    Case("config-not-a-dict", exp(config=[1]), r"`config` must be a dict, got list"),
    Case("config-unpicklable", exp(config={"lock": threading.Lock()}), r"`config\.lock` cannot be pickled"),
    Case("resources-not-a-dict", exp(resources=2), r"`e\.resources` must be a dict"),
    Case("resources-negative", exp(resources={"cpu": -1}), r"`e\.resources\.cpu`"),
    Case("resources-cpus", exp(resources={"cpus": 1}), r"'cpus' .*did you mean 'cpu'\?"),
    Case("resources-num-gpus", exp(resources={"num_gpus": 1}), r"'num_gpus' .*did you mean 'gpu'\?"),
    Case("resources-too-big", exp(resources={"cpu": 1000}), r"can never run: it needs 1000", writes=True),
    Case("resources-and-alias", exp(resources={"cpu": 1}, trial_resources={"cpu": 1}),
         r"`resources` and `trial_resources` mean the same"),
    Case("resources-per-trial-and-resources", runs(resources={"cpu": 1}, resources_per_trial={"cpu": 1}),
         r"`resources` and `resources_per_trial` mean the same"),
    Case("num-samples-zero", exp(num_samples=0), r"`num_samples` must be an integer >= 1, got 0"),
    Case("num-samples-text", exp(num_samples="3"), r"`num_samples` must be an integer >= 1, got '3' \(str\)"),
    Case("num-samples-and-repeat", exp(num_samples=2, repeat=3), r"`num_samples` and `repeat` mean the same"),
    Case("checkpoint-freq-negative", exp(checkpoint_freq=-1), r"`checkpoint_freq` must be an integer >= 0"),
    Case("checkpoint-at-end-text", exp(checkpoint_at_end="no"), r"`checkpoint_at_end` must be true or false, got 'no'"),
    Case("keep-checkpoints-zero", exp(keep_checkpoints_num=0), r"`keep_checkpoints_num` must be an integer >= 1"),
    Case("checkpoint-score-attr", exp(checkpoint_score_attr=5), r"`checkpoint_score_attr` must be a non-empty string"),
    Case("max-failures-text", exp(max_failures="2"), r"`max_failures` must be an integer >= 0, got '2'"),
    Case("local-dir-number", lambda d: run_experiments({"e": {"run": train, "local_dir": 5}}, verbose=0),
         r"`local_dir` must be a path \(a string\), got 5"),
    Case("local-dir-is-a-file", lambda d: run_experiments({"e": {"run": train, "local_dir": __file__}}, verbose=0),
         r"cannot write results to `local_dir` '.*test_bad_inputs\.py'"),
    Case("restore-number", exp(restore=5), r"`restore` must be a path \(a string\), got 5"),
    Case("restore-missing", exp(restore="/no/such/checkpoint"), r"/no/such/checkpoint"),
    Case("duplicate-experiment-names", experiments([Experiment("x", run=train), Experiment("x", run=train)]),
         r"experiment names must be unique"),
    # --- search spaces ---------------------------------------------------------------------------
    Case("grid-of-text", lambda d: tune.grid_search("abc"), r"grid_search\(\) requires a list of values"),
    Case("grid-empty", lambda d: tune.grid_search([]), r"at least one value"),
    Case("lambda-index-out-of-range", exp(config={"a": [1, 2], "b": tune.sample_from(lambda s: s.config.a[5])}),
         r"`config\.b`: .*`config\.a\[5\]`: index out of range, the list has 2 items"),
    Case("lambda-missing-key", exp(config={"b": tune.sample_from(lambda s: s.config.a)}),
         r"`config\.b`: .*`config` has no key 'a'"),
    Case("lambda-raises", exp(config={"b": tune.sample_from(lambda s: 1 / 0)}),
         r"`config\.b`: evaluating function <lambda> at .*test_bad_inputs\.py:\d+ failed: ZeroDivisionError"),
    Case("recursive-dependency", exp(config={"a": tune.sample_from(lambda s: s.config.b),
                                             "b": tune.sample_from(lambda s: s.config.a)}),
         r"recursively depends"),
    Case("loguniform-zero", lambda d: tune.loguniform(0, 1), r"lower > 0"),
    Case("uniform-reversed", lambda d: tune.uniform(2, 1), r"lower must be < upper"),
    Case("sample-from-not-callable", lambda d: tune.sample_from(5), r"sample_from\(\) requires a function"),
    # --- components and their options ------------------------------------------------------------
    Case("scheduler-unknown", runs(scheduler="medain-stopping"), r"unknown scheduler 'medain-stopping'.*did you mean"),
    Case("scheduler-config-with-instance", runs(scheduler=MedianStoppingRule(), scheduler_config={"a": 1}),
         r"`scheduler_config` is only for a scheduler given by name"),
    Case("scheduler-config-unknown-option", runs(scheduler="median-stopping", scheduler_config={"grace": 5}),
         r"grace"),
    Case("scheduler-option-type", runs(scheduler="median-stopping", scheduler_config={"grace_period": "five"}),
         r"MedianStoppingRule: `grace_period` must be a number >= 0, got 'five' \(str\)"),
    Case("scheduler-mode", lambda d: MedianStoppingRule(mode="maximize"), r"`mode` must be one of"),
    Case("mode", runs(mode="maximize"), r"`mode` must be 'min' or 'max', got 'maximize'"),
    Case("metric-type", runs(metric=5), r"`metric` must be a non-empty string, got 5"),
    Case("metric-never-reported", runs(metric="accuracy", mode="max"),
         r"trial train_0 reported a result without 'accuracy'.*the result has: acc, loss", writes=True),
    Case("scheduler-metric-never-reported",
         runs(scheduler=MedianStoppingRule(metric="los", mode="min")),
         r"without 'los'.*MedianStoppingRule.*did you mean 'loss'\?", writes=True),
    Case("searcher-unknown", runs(search_alg="hyperopd"), r"unknown searcher 'hyperopd'"),
    Case("executor-unknown", runs(executor="rey"), r"unknown executor 'rey'"),
    Case("executor-config-not-a-dict", runs(executor_config=[4]), r"`executor_config` must be a dict"),
    Case("loggers-a-string", runs(loggers="json"), r"`loggers` must be a list .* got 'json'"),
    Case("loggers-unknown", runs(loggers=["jsn"]), r"unknown logger 'jsn'.*did you mean 'json'"),
    Case("logger-config-unknown-logger", lambda d: run_experiments(spec(d), verbose=0, loggers=["json"],
                                                                   logger_config={"csv": {}}),
         r"`logger_config` names 'csv', which is not a logger of this run"),
    Case("verbose-text", lambda d: run(train, local_dir=d, verbose="loud"), r"`verbose` must be an integer >= 0, got 'loud'"),
    Case("raise-on-failed-trial-text", runs(raise_on_failed_trial="yes"),
         r"`raise_on_failed_trial` must be true or false, got 'yes'"),
    Case("resume-text", lambda d: run_experiments(spec(d), verbose=0, resume="yes"),
         r"`resume` must be true or false"),
    # --- trainables ------------------------------------------------------------------------------
    Case("register-no-arguments", lambda d: register_trainable("f", lambda: None),
         r"trainable 'f': the function .*<lambda> at .*:\d+ takes \(\), but a function trainable is called as"),
    Case("register-three-arguments", lambda d: register_trainable("f", lambda a, b, c: None), r"takes \(a, b, c\)"),
    Case("register-empty-name", lambda d: register_trainable("", train), r"name must be a non-empty string"),
    Case("register-instance", lambda d: register_trainable("f", tune.Trainable.__new__(tune.Trainable)),
         r"a Trainable instance; register the class"),
    Case("pinned-object-non-handle", lambda d: tune.get_pinned_object(5), r"get_pinned_object.*5 is not a handle"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_tune_error_naming_it(case: Case, tmp_path: Path) -> None:
    local_dir = tmp_path / "results"
    with pytest.raises(TuneError, match=case.match) as raised:
        case.call(str(local_dir))
    frames = [frame.filename for frame in traceback.extract_tb(raised.tb)]
    assert not any(name.endswith(("runner.py", "runtime/host.py")) for name in frames), frames
    if case.writes:
        return
    assert not local_dir.exists() or not any(local_dir.rglob("*")), "a refused spec wrote files"


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 60


def test_an_error_reaches_the_caller_without_the_runners_internals(tmp_path: Path) -> None:
    """What a script's user sees: the message after a few frames, no chained exceptions."""
    script = tmp_path / "bad.py"
    script.write_text(
        "import tune_core as tune\n"
        "def f(config, reporter):\n"
        "    reporter(acc=1)\n"
        f"tune.run(f, metric='accuracy', local_dir={str(tmp_path / 'r')!r}, verbose=0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TUNE_TRACEBACK"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("tune_core.errors.TuneError: trial f_0 reported a result without 'accuracy'")
    assert "During handling" not in proc.stderr and "direct cause" not in proc.stderr
    assert len(lines) <= 12, proc.stderr
