"""``PopulationBasedTraining``: the scheduler (registered as ``pbt``).

Every trial waits at each perturbation point (``time_attr`` = last perturbation + interval, a
``DecisionPoint``, so the decision lands exactly there on any executor). There its score is
recorded and the live trials with a score are ranked: a trial in the top quantile is asked for a
checkpoint (``runner.save_trial``); a trial in the bottom quantile *exploits* a random top trial
(``runner.restart_trial(trial, from_trial=donor, config=explored, tag=...)``: it continues from the
donor's latest checkpoint with the donor's config, explored). A donor without a checkpoint yet is
asked for one and the exploit is skipped for this interval. When more trials exist than run at
once, a trial pauses at its perturbation point while a waiting trial is behind it, and
``choose_trial_to_run`` starts the trial furthest behind in ``time_attr``.

The population is kept in order as results come (``tune_pbt.population``): a perturbation point
looks up the trial's rank, and a trial to start is the first of a queue, so a decision costs about
the same whatever the number of trials.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tune_core import TuneError, options
from tune_core.interfaces import (
    CONTINUE,
    PAUSE,
    PAUSED,
    PENDING,
    RUNNING,
    DecisionPoint,
    TrialRunnerView,
    TrialScheduler,
    TrialView,
)
from tune_pbt.explore import OWNER, check_mutations, explore, mutated_values
from tune_pbt.log import append_record, started_trials
from tune_pbt.population import Population

__all__ = ["PopulationBasedTraining"]

log = logging.getLogger(__name__)

#: How many (iteration -> time) points of its perturbations each trial remembers (to date checkpoints).
_KEEP_POINTS = 8


@dataclass
class _TrialState:
    """What PBT keeps of one trial (plain values: it is saved with the experiment)."""

    orig_tag: str
    last_score: float | None = None
    last_perturbation_time: float = 0.0
    #: ``training_iteration -> time_attr`` at its latest perturbation points.
    points: dict[int, float] = field(default_factory=dict)
    logged_start: bool = False
    #: Synchronous mode: the perturbation point it waits at (paused) for the others.
    waits_for: float | None = None


class PopulationBasedTraining(TrialScheduler):
    """Population Based Training: exploit the top trials' checkpoints, explore their configs.

    Args:
        time_attr: the result field that measures training time; increasing. ``training_iteration``
            makes every perturbation land on an exact iteration.
        reward_attr: the seed's name of the metric to maximise (or ``metric`` with ``mode``).
        metric: the metric to rank trials by; ``mode``: ``"max"`` (default) or ``"min"``.
        perturbation_interval: a trial is ranked, and maybe exploited, every this much ``time_attr``.
        burn_in_period: no perturbation before ``time_attr`` reaches this.
        hyperparam_mutations: ``{key: list | distribution | callable | dict}`` (see ``tune_pbt.explore``).
        quantile_fraction: the fraction of trials in the top (donors) and bottom (exploited)
            quantiles; 0 to 0.5.
        resample_probability: the chance a mutated value is drawn afresh instead of perturbed.
        perturbation_factors: a numeric value is multiplied by one of these, chosen at random.
        custom_explore_fn: ``f(config) -> config``, applied after the mutations.
        log_config: write the perturbation log (``pbt_perturbations.jsonl`` in the experiment
            directory) that ``tune_pbt.replay`` reads.
        seed: seed of the scheduler's random choices (donors, perturbations); ``None``: random.
        synch: synchronous PBT: every trial pauses at each perturbation point (checkpointing there)
            until all live trials have reached it; then the bottom ones exploit the top ones' checkpoints
            of that very point, and all go on together. No trial runs ahead of the others.
    """

    def __init__(
        self,
        time_attr: str = "time_total_s",
        reward_attr: str | None = None,
        metric: str | None = None,
        mode: str | None = None,
        perturbation_interval: float = 60.0,
        burn_in_period: float = 0.0,
        hyperparam_mutations: Mapping[str, Any] | None = None,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        perturbation_factors: Sequence[float] = (1.2, 0.8),
        custom_explore_fn: Callable[[dict[str, Any]], Any] | None = None,
        log_config: bool = True,
        seed: int | None = None,
        synch: bool = False,
    ) -> None:
        options.choice(OWNER, "mode", mode, (None, "min", "max"))
        options.text(OWNER, "time_attr", time_attr)
        options.text(OWNER, "reward_attr", reward_attr, optional=True)
        options.text(OWNER, "metric", metric, optional=True)
        if reward_attr is not None and metric is not None:
            raise TuneError(f"{OWNER}: pass `metric` (with `mode`) or `reward_attr`, not both")
        options.number(OWNER, "perturbation_interval", perturbation_interval, minimum=0)
        if perturbation_interval <= 0:
            raise TuneError(f"{OWNER}: `perturbation_interval` must be a number > 0, got {perturbation_interval!r}")
        options.number(OWNER, "burn_in_period", burn_in_period, minimum=0)
        options.number(OWNER, "quantile_fraction", quantile_fraction, minimum=0, maximum=0.5)
        options.number(OWNER, "resample_probability", resample_probability, minimum=0, maximum=1)
        if (isinstance(perturbation_factors, (str, bytes)) or not isinstance(perturbation_factors, Sequence)
                or not perturbation_factors):
            raise TuneError(f"{OWNER}: `perturbation_factors` must be a non-empty list of numbers > 0, e.g. "
                            f"(1.2, 0.8), got {perturbation_factors!r}")
        for factor in perturbation_factors:
            options.number(OWNER, "perturbation_factors", factor, minimum=0)
        if custom_explore_fn is not None and not callable(custom_explore_fn):
            raise TuneError(f"{OWNER}: `custom_explore_fn` must be a function config -> config, got "
                            f"{custom_explore_fn!r}")
        options.flag(OWNER, "log_config", log_config)
        options.integer(OWNER, "seed", seed, optional=True)
        options.flag(OWNER, "synch", synch)
        mutations = check_mutations(hyperparam_mutations if hyperparam_mutations is not None else {})
        if not mutations and custom_explore_fn is None:
            raise TuneError(f"{OWNER}: give `hyperparam_mutations` (e.g. {{'lr': [1e-3, 1e-2, 1e-1]}}) or "
                            "`custom_explore_fn`, or both: without either there is nothing to explore")
        self.metric = metric or reward_attr
        self.mode = mode or ("max" if reward_attr else None)
        self._time_attr = time_attr
        self._interval = perturbation_interval
        self._burn_in = burn_in_period
        self._mutations = mutations
        self._quantile_fraction = quantile_fraction
        self._resample_probability = resample_probability
        self._factors = tuple(perturbation_factors)
        self._custom_explore_fn = custom_explore_fn
        self._log_config = log_config
        self._rng = random.Random(seed)
        self._synch = synch
        #: Synchronous mode: the latest perturbation point at which the population was perturbed.
        self._round_done = 0.0
        self._states: dict[str, _TrialState] = {}
        #: Per experiment directory, the trials whose start record the log holds (read once).
        self._started: dict[str, set[str]] = {}
        self._num_checkpoints = 0
        self._num_perturbations = 0
        self._num_skipped = 0
        #: The live trials ranked, the waiting ones queued (kept as results come; not saved).
        self._population = Population(lambda trial: self._state(trial).last_perturbation_time)
        #: What ``save`` last returned for each trial's state, and the states changed since.
        self._saved: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()

    # --- the trial's life -------------------------------------------------------------------------
    def on_trial_add(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._population.add(trial, self._state(trial).last_score)

    def on_trial_complete(self, runner: TrialRunnerView, trial: TrialView,
                          result: Mapping[str, Any] | None) -> None:
        self._population.forget(trial.trial_id)

    def on_trial_remove(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._population.forget(trial.trial_id)

    def on_trial_error(self, runner: TrialRunnerView, trial: TrialView) -> None:
        self._population.forget(trial.trial_id)

    def _state(self, trial: TrialView) -> _TrialState:
        state = self._states.get(trial.trial_id)
        if state is None:
            state = self._states[trial.trial_id] = _TrialState(orig_tag=trial.experiment_tag)
            self._changed.add(trial.trial_id)
        return state

    def decision_point(self, trial: TrialView) -> DecisionPoint | None:
        return DecisionPoint(self._time_attr, self._next_point(self._state(trial)))

    def _next_point(self, state: _TrialState) -> float:
        if self._synch:  # One grid of points for all: the rounds line up whatever time_attr is.
            return max(self._round_done + self._interval, self._burn_in)
        return max(state.last_perturbation_time + self._interval, self._burn_in)

    def on_trial_result(self, runner: TrialRunnerView, trial: TrialView, result: dict[str, Any]) -> str:
        self._population.runs(trial)
        t = result.get(self._time_attr)
        state = self._state(trial)
        point = self._next_point(state)
        if t is None or t < point:
            return CONTINUE
        score = result.get(self.metric or "episode_reward_mean")
        if score is None:
            return CONTINUE
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TuneError(f"{OWNER}: the metric {self.metric!r} must be a number, but a result of trial "
                            f"{trial.name} has {score!r} ({type(score).__name__})")
        state.last_score = -score if self.mode == "min" else score
        self._changed.add(trial.trial_id)
        self._population.rank(trial.trial_id, state.last_score)
        state.last_perturbation_time = t
        iteration = result.get("training_iteration")
        if isinstance(iteration, int):
            state.points[iteration] = t
            while len(state.points) > _KEEP_POINTS:
                del state.points[min(state.points)]
        if self._log_config and not state.logged_start:
            self._log(trial, None)

        if self._synch:
            # Wait, checkpointed, at the point until every live trial is there (choose_trial_to_run
            # perturbs the population then). Alone, there is no one to wait for.
            alone = all(other.trial_id == trial.trial_id or other.is_finished() for other in runner.get_trials())
            if alone:
                self._round_done = point
                return CONTINUE
            state.waits_for = point
            self._num_checkpoints += 1  # The pause checkpoints it.
            self._population.wait(trial)
            return PAUSE
        rank, size, upper = self._rank(runner, trial)
        if rank == 1:
            if runner.save_trial(trial):
                self._num_checkpoints += 1
        elif rank == -1:
            donor = upper(self._rng.randrange(size))
            if donor.checkpoint is None:
                # No checkpoint to copy yet: ask for one and skip this interval (the next one exploits).
                runner.save_trial(donor)
                self._num_skipped += 1
                log.info("%s: %s has no checkpoint yet; %s is not exploited this interval", OWNER,
                         donor.name, trial.name)
            else:
                self._exploit(runner, trial, donor, t)
                return CONTINUE  # Ignored: restart_trial acted on this trial.
        if self._someone_behind(runner, trial, state.last_perturbation_time):
            self._population.wait(trial)
            return PAUSE
        return CONTINUE

    def _rank(self, runner: TrialRunnerView, trial: TrialView) -> tuple[int, int, Callable[[int], TrialView]]:
        """(1: top quantile, -1: bottom, 0: neither; the size of a quantile; the i-th top trial)."""
        ranking = self._population.ranking
        if ranking.nan:  # No order with a NaN score: rank by a full sort, as ever.
            lower, upper = self._quantiles_by_sort(runner)
            tid = trial.trial_id
            rank = 1 if any(t_.trial_id == tid for t_ in upper) else -1 if any(
                t_.trial_id == tid for t_ in lower) else 0
            return rank, len(upper), upper.__getitem__
        count = len(ranking)
        size = self._quantile_size(count)
        position = ranking.position(trial.trial_id)
        if size == 0 or position is None:
            return 0, 0, _no_trial
        rank = 1 if position >= count - size else -1 if position < size else 0
        views = self._population.views
        return rank, size, lambda i: views[ranking.id_at(count - size + i)]

    def _quantile_size(self, count: int) -> int:
        if count <= 1:
            return 0
        return min(math.ceil(count * self._quantile_fraction), count // 2)

    def _quantiles(self, runner: TrialRunnerView) -> tuple[list[TrialView], list[TrialView]]:
        """(bottom, top): the live trials with a score, ranked; each quantile at most half of them."""
        ranking = self._population.ranking
        if ranking.nan:
            return self._quantiles_by_sort(runner)
        count = len(ranking)
        size = self._quantile_size(count)
        if size == 0:
            return [], []
        views = self._population.views
        return ([views[tid] for tid in ranking.ids(0, size)],
                [views[tid] for tid in ranking.ids(count - size, count)])

    def _quantiles_by_sort(self, runner: TrialRunnerView) -> tuple[list[TrialView], list[TrialView]]:
        """``_quantiles`` by sorting the runner's live trials (while a score is NaN)."""
        ranked = [t for t in runner.get_trials()
                  if not t.is_finished() and (s := self._states.get(t.trial_id)) is not None
                  and s.last_score is not None]
        if len(ranked) <= 1:
            return [], []
        ranked.sort(key=lambda t: self._states[t.trial_id].last_score)  # type: ignore[arg-type, return-value]
        size = self._quantile_size(len(ranked))
        if size == 0:
            return [], []
        return ranked[:size], ranked[-size:]

    def _exploit(self, runner: TrialRunnerView, trial: TrialView, donor: TrialView, t: float) -> None:
        state, donor_state = self._state(trial), self._state(donor)
        checkpoint = donor.checkpoint
        assert checkpoint is not None
        iteration = checkpoint.iteration
        if self._time_attr == "training_iteration":
            from_t: float = iteration
        else:
            from_t = donor_state.points.get(iteration, donor_state.last_perturbation_time)
        new_config = explore(donor.config, self._mutations, rng=self._rng,
                             resample_probability=self._resample_probability,
                             perturbation_factors=self._factors, custom_explore_fn=self._custom_explore_fn)
        shown = ",".join(f"{k}={_format(v)}" for k, v in mutated_values(new_config, self._mutations).items())
        tag = f"{state.orig_tag}@perturbed[{shown}]"
        old_config = dict(trial.config)
        # Before the restart: the runner asks decision_point() as it starts the trial again.
        state.last_perturbation_time = from_t
        self._changed.add(trial.trial_id)
        state.points = {k: v for k, v in donor_state.points.items() if k <= iteration}
        if self._log_config:
            self._log(donor, None)  # Its start record first, if it has none yet.
        runner.restart_trial(trial, from_trial=donor, config=new_config, tag=tag)
        self._population.place(trial)  # Running again at once, or waiting for a slot.
        self._num_perturbations += 1
        log.info("%s: %s exploits %s (checkpoint of iteration %s): %s", OWNER, trial.name, donor.name,
                 iteration, shown)
        if self._log_config:
            self._log(trial, {
                "event": "exploit", "trial_id": trial.trial_id, "trial_name": trial.name,
                "from_trial_id": donor.trial_id, "from_trial_name": donor.name, "time_attr": self._time_attr,
                "t": t, "from_t": from_t, "from_iteration": iteration, "old_config": old_config,
                "new_config": new_config,
            })

    def _log(self, trial: TrialView, record: dict[str, Any] | None) -> None:
        """Append ``record`` to the log of the trial's experiment; ``None``: the trial's start
        record, once per trial (also across resumes: the log itself says whom it has)."""
        if trial.logdir is None:
            return
        directory = os.path.dirname(trial.logdir.rstrip(os.sep))
        if record is None:
            state = self._state(trial)
            state.logged_start = True
            self._changed.add(trial.trial_id)
            started = self._started.get(directory)
            if started is None:
                started = self._started[directory] = started_trials(directory)
            if trial.trial_id in started:
                return
            started.add(trial.trial_id)
            record = {"event": "start", "trial_id": trial.trial_id, "trial_name": trial.name,
                      "config": dict(trial.config)}
        record["time"] = time.time()
        append_record(directory, record)

    def _someone_behind(self, runner: TrialRunnerView, trial: TrialView, t: float) -> bool:
        """Whether a waiting trial is behind ``trial``: then ``trial`` pauses to let it run."""
        return self._population.someone_behind(t)

    def choose_trial_to_run(self, runner: TrialRunnerView) -> TrialView | None:
        if self._synch:
            return self._choose_synch(runner)
        return self._population.choose(runner)

    def _choose_synch(self, runner: TrialRunnerView) -> TrialView | None:
        """Synchronous mode: every trial waits at each point, so look at them all."""
        waiting = runner.trials_with_status(PENDING, PAUSED)
        if not waiting:
            return None
        synch = self._synch
        if synch and all(t.status == PAUSED for t in waiting) and not runner.trials_with_status(RUNNING):
            # Every live trial waits at the same point: perturb the population there, then all go on.
            points = {self._state(t).waits_for for t in waiting}
            point = points.pop() if len(points) == 1 else None
            if point is not None and point > self._round_done:
                self._round_done = point
                self._perturb_round(runner)
        best: TrialView | None = None
        best_time = math.inf
        for trial in waiting:
            state = self._state(trial)
            if synch and trial.status == PAUSED and (state.waits_for or 0.0) > self._round_done:
                continue  # Waiting for the others to reach its point.
            behind = state.last_perturbation_time
            if behind < best_time and runner.has_resources(trial.resources):
                best, best_time = trial, behind
        return best

    def _perturb_round(self, runner: TrialRunnerView) -> None:
        """Synchronous mode, every live trial paused at the same point: the bottom ones exploit."""
        lower, upper = self._quantiles(runner)
        for trial in lower:
            donor = upper[self._rng.randrange(len(upper))]
            if donor.checkpoint is None:
                self._num_skipped += 1
                continue
            self._exploit(runner, trial, donor, self._state(trial).last_perturbation_time)

    def debug_string(self) -> str:
        return (f"PopulationBasedTraining: {self._num_checkpoints} checkpoints, "
                f"{self._num_perturbations} perturbs")

    # --- resume -----------------------------------------------------------------------------------
    def save(self) -> Any:
        return {
            "states": self._saved_states(),
            "rng": self._rng.getstate(),
            "counts": (self._num_checkpoints, self._num_perturbations, self._num_skipped),
            "round_done": self._round_done,
        }

    def _saved_states(self) -> dict[str, dict[str, Any]]:
        """Each trial's state as plain values; a state unchanged since the last save is not copied
        again (``save`` runs every half second or so, with thousands of trials). Whatever changes a
        state adds its trial to ``_changed``."""
        cache, states = self._saved, self._states
        for tid in self._changed:
            cache[tid] = _plain(states[tid])
        self._changed.clear()
        return dict(cache)

    def restore(self, state: Any) -> None:
        self._states = {tid: _TrialState(**s) for tid, s in state["states"].items()}
        self._rng.setstate(state["rng"])
        self._num_checkpoints, self._num_perturbations, self._num_skipped = state["counts"]
        self._round_done = state.get("round_done", 0.0)
        self._saved.clear()
        self._changed = set(self._states)
        # The restored scores and times re-key what is known of the population.
        self._population.rekey({tid: s.last_score for tid, s in self._states.items()})


def _plain(state: _TrialState) -> dict[str, Any]:
    """``dataclasses.asdict(state)``, at a fraction of its cost (its values are plain already)."""
    saved = state.__dict__.copy()
    saved["points"] = saved["points"].copy()
    return saved


def _no_trial(index: int) -> TrialView:
    raise IndexError(index)


def _format(value: Any) -> str:
    """A mutated value in a trial's tag: floats with 5 significant digits, ``/`` as ``_``."""
    text = f"{value:.5g}" if isinstance(value, float) else str(value)
    return text.replace("/", "_")
