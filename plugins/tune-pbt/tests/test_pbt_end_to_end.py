"""PBT on real runs: worker processes of the local executor, class and function trainables.

Every trial's final ``result.json`` must be explained by its schedule as ``tune_pbt.replay`` reads
it from the perturbation log: iteration ``i`` ran with the config of the last segment starting
before ``i``, and the values continue the donor's at each exploit. So one check covers "exploit
happens, configs change, results continue the donor's counters, the log is written, replay
reproduces the schedule".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pbt_trainables import Climber, Interrupting, climber
from tune_pbt import (
    LOG_NAME,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    Segment,
    replay,
)

import tune_core as tune
from tune_core.interfaces import TERMINATED

STEPS = [0.1, 0.2, 0.5, 1.0]
MUTATIONS = {"step": [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]}
ITERATIONS = 12


def _pbt(**kwargs: Any) -> PopulationBasedTraining:
    return PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max",
                                   perturbation_interval=3, hyperparam_mutations=MUTATIONS, seed=0, **kwargs)


def _run(local_dir: Path, trainable: Any, scheduler: Any, steps: list[float] = STEPS, cpus: int = 2,
         executor: str = "local", name: str = "pbt", **kwargs: Any) -> list[Any]:
    return tune.run_experiments(
        {name: {"run": trainable, "config": {"step": tune.grid_search(steps)},
                "stop": {"training_iteration": ITERATIONS}, "local_dir": str(local_dir)}},
        scheduler=scheduler, executor=executor, executor_config={"num_cpus": cpus}, verbose=0, **kwargs)


def _lines(trial: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(trial.logdir, "result.json").read_text().splitlines()]


def _records(exp_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (exp_dir / LOG_NAME).read_text().splitlines()]


def _active(schedule: list[Segment], iteration: int) -> dict[str, Any]:
    return [s for s in schedule if s.iteration < iteration][-1].config


def _expected(schedule: list[Segment], i: int) -> float:
    """The value after iteration ``i`` along a lineage: the sum of the steps of iterations 1..i."""
    return sum(_active(schedule, j)["step"] for j in range(1, i + 1))


def _check_explained_by_replay(exp_dir: Path, trials: list[Any]) -> None:
    """A trial's final run (after its last exploit from a checkpoint of iteration ``k``) starts at
    ``k + 1`` and its every result is explained by the schedule ``replay`` reads: the config of the
    segment in force and the sum of the steps along the lineage (the donor's counters continued).
    Its own results up to ``k`` stay in the log as they were (docs/plugins/scheduler.md)."""
    records = _records(exp_dir)
    logged = {r["trial_id"] for r in records}
    for trial in trials:
        lines = _lines(trial)
        iterations = [r["training_iteration"] for r in lines]
        assert iterations == sorted(set(iterations)) and iterations[-1] == ITERATIONS, (trial.name, iterations)
        schedule = replay(exp_dir, trial.trial_id) if trial.trial_id in logged else [Segment(0, 0, trial.config)]
        exploits = [r for r in records if r["event"] == "exploit" and r["trial_id"] == trial.trial_id]
        k = exploits[-1]["from_iteration"] if exploits else 0
        assert schedule[-1].iteration == k
        final = [line for line in lines if line["training_iteration"] > k]
        assert final[0]["training_iteration"] == k + 1, (trial.name, iterations, k)
        for line in final:
            i = line["training_iteration"]
            assert line["config"]["step"] == _active(schedule, i)["step"], (trial.name, i)
            assert line["value"] == pytest.approx(_expected(schedule, i)), (trial.name, i, schedule)


@pytest.mark.parametrize("trainable", [Climber, climber], ids=["class", "function"])
def test_exploit_end_to_end_on_worker_processes(local_dir: Path, trainable: Any) -> None:
    pbt = _pbt()
    trials = _run(local_dir, trainable, pbt)
    assert [t.status for t in trials] == [TERMINATED] * len(trials)
    exp_dir = local_dir / "pbt"
    exploits = [r for r in _records(exp_dir) if r["event"] == "exploit"]
    assert exploits, "no trial was exploited"
    assert pbt.debug_string().endswith(f"{len(exploits)} perturbs")
    for record in exploits:
        assert record["time_attr"] == "training_iteration"
        assert record["from_t"] == record["from_iteration"]  # May be ahead of "t": a jump forward.
        assert record["new_config"]["step"] in MUTATIONS["step"]
    by_id = {t.trial_id: t for t in trials}
    for trial_id in {r["trial_id"] for r in exploits}:
        trial = by_id[trial_id]
        last = [r for r in exploits if r["trial_id"] == trial_id][-1]
        assert trial.config == last["new_config"]
        assert "@perturbed[step=" in trial.experiment_tag and trial.name.endswith(trial.experiment_tag)
        assert json.loads(Path(trial.logdir, "params.json").read_text()) == last["new_config"]
    _check_explained_by_replay(exp_dir, trials)


@pytest.mark.parametrize("trainable", [Climber, climber], ids=["class", "function"])
def test_replay_reruns_a_trials_schedule(local_dir: Path, trainable: Any) -> None:
    trials = _run(local_dir, trainable, _pbt())
    exp_dir = local_dir / "pbt"
    exploited = [r["trial_id"] for r in _records(exp_dir) if r["event"] == "exploit"]
    target = next(t for t in trials if t.trial_id == exploited[-1])
    schedule = PopulationBasedTrainingReplay(exp_dir, target.trial_id)
    assert len(schedule.schedule) >= 2
    (again,) = tune.run_experiments(
        {"replay": {"run": trainable, "config": schedule.config, "stop": {"training_iteration": ITERATIONS},
                    "local_dir": str(local_dir)}},
        scheduler=schedule, executor_config={"num_cpus": 1}, verbose=0)
    assert again.status == TERMINATED
    lines = _lines(again)
    assert [r["training_iteration"] for r in lines] == list(range(1, ITERATIONS + 1))
    assert [r["value"] for r in lines] == pytest.approx([_expected(schedule.schedule, i) for i in range(1, 13)])
    assert [r["config"]["step"] for r in lines] == [_active(schedule.schedule, i)["step"] for i in range(1, 13)]
    # The original trial's final run (after its last exploit) and the replay agree value for value.
    k = schedule.schedule[-1].iteration
    assert [r["value"] for r in lines[k:]] == pytest.approx([r["value"] for r in _lines(target)
                                                               if r["training_iteration"] > k])


def test_replay_names_what_is_missing(local_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(tune.TuneError, match="no perturbation log at"):
        replay(tmp_path / "nowhere", "abc")
    (tmp_path / LOG_NAME).write_text('{"event": "start", "trial_id": "t1", "trial_name": "n", "config": {}}\n'
                                     "{torn")
    with pytest.raises(tune.TuneError, match=r"trial 'abc' is not in the log .*trial ids there: t1"):
        replay(tmp_path, "abc")
    assert replay(tmp_path, "n") == [Segment(0, 0.0, {})]


def test_time_multiplexing_six_trials_on_two_cpus(local_dir: Path, recorded_events: list[Any]) -> None:
    trials = _run(local_dir, climber, _pbt(), steps=[0.1, 0.2, 0.3, 0.5, 0.8, 1.0])
    assert [t.status for t in trials] == [TERMINATED] * 6
    starts = [e for e, _ in recorded_events if e == "tune_on_trial_start"]
    assert len(starts) > 6, "no trial was paused to let another run"
    _check_explained_by_replay(local_dir / "pbt", trials)


@pytest.mark.parametrize("trainable", [Climber, climber], ids=["class", "function"])
def test_synch_exploits_checkpoints_of_the_same_point(local_dir: Path, trainable: Any) -> None:
    """Synchronous PBT: every exploit copies a checkpoint of the very point the trial waits at."""
    pbt = _pbt(synch=True)
    trials = _run(local_dir, trainable, pbt, steps=[0.1, 0.2, 0.5, 1.0, 2.0])
    assert [t.status for t in trials] == [TERMINATED] * 5
    exploits = [r for r in _records(local_dir / "pbt") if r["event"] == "exploit"]
    assert exploits
    assert all(r["from_iteration"] == r["t"] and r["t"] % 3 == 0 for r in exploits), exploits
    for trial in trials:  # Nobody jumps: each final log reads 1..12.
        assert [r["training_iteration"] for r in _lines(trial)] == list(range(1, ITERATIONS + 1))
    _check_explained_by_replay(local_dir / "pbt", trials)


def test_registered_as_pbt(local_dir: Path) -> None:
    trials = tune.run_experiments(
        {"named": {"run": Climber, "config": {"step": tune.grid_search([0.1, 1.0])},
                   "stop": {"training_iteration": 6}, "local_dir": str(local_dir)}},
        scheduler="pbt", scheduler_config={"time_attr": "training_iteration", "perturbation_interval": 2,
                                           "hyperparam_mutations": {"step": [0.1, 1.0, 2.0]}, "seed": 1},
        metric="score", mode="max", executor="thread", executor_config={"num_cpus": 2}, verbose=0)
    assert [t.status for t in trials] == [TERMINATED] * 2
    assert (local_dir / "named" / LOG_NAME).is_file()
    with pytest.raises(tune.TuneError, match="PopulationBasedTraining: `perturbation_interval`"):
        tune.run_experiments({"named": {"run": Climber, "local_dir": str(local_dir)}}, scheduler="pbt",
                             scheduler_config={"perturbation_interval": -1, "hyperparam_mutations": {"a": [1]}},
                             verbose=0)


FIRST_RUN = """
import sys
sys.path.insert(0, {tests!r})
import tune_core as tune
from pbt_trainables import Interrupting
from tune_pbt import PopulationBasedTraining

pbt = PopulationBasedTraining(time_attr="training_iteration", metric="score", mode="max", perturbation_interval=3,
                              hyperparam_mutations={mutations!r}, seed=0)
tune.run_experiments({{"pbt": {spec!r}}}, scheduler=pbt, executor="thread", executor_config={{"num_cpus": 2}},
                     verbose=0)
"""


class Recording(PopulationBasedTraining):
    restored: Any = None

    def restore(self, state: Any) -> None:
        self.restored = state
        super().restore(state)


def test_resume_mid_run_keeps_the_population(local_dir: Path, tmp_path: Path) -> None:
    """Interrupted (SIGINT) in a process of its own, as a user's run is; resumed here."""
    spec = {"run": "pbt_trainables:Interrupting", "stop": {"training_iteration": ITERATIONS},
            "local_dir": str(local_dir), "config": {"step": {"grid_search": STEPS}, "flag": str(tmp_path / "flag")}}
    script = FIRST_RUN.format(tests=str(Path(__file__).parent), mutations=MUTATIONS, spec=spec)
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "interrupted:" in first.stderr, first.stderr
    before = _records(local_dir / "pbt")
    assert before, "interrupted before any perturbation"
    second = Recording(time_attr="training_iteration", metric="score", mode="max", perturbation_interval=3,
                       hyperparam_mutations=MUTATIONS, seed=0)
    trials = tune.run_experiments({"pbt": {**spec, "run": Interrupting}}, scheduler=second, executor="thread",
                                  executor_config={"num_cpus": 2}, verbose=0, resume=True)
    assert [t.status for t in trials] == [TERMINATED] * 4
    after = _records(local_dir / "pbt")
    assert after[: len(before)] == before  # Appended to, never rewritten.
    # The resumed scheduler went on from the saved population: every trial's perturbation state.
    assert second.restored is not None
    assert len(second.restored["states"]) == 4
    assert max(s["last_perturbation_time"] for s in second.restored["states"].values()) >= 6
    starts = [r["trial_id"] for r in after if r["event"] == "start"]
    assert len(starts) == len(set(starts)), "a trial's start was logged twice"
    _check_explained_by_replay(local_dir / "pbt", trials)
