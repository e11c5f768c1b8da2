"""``OptunaSearch``: a tune-core ``Searcher`` that drives an in-memory Optuna study through ask/tell.

Each ``suggest`` is one ``study.ask()``; each trial's end is one ``study.tell()``: its last metric
(``COMPLETE``) when it ended by itself, ``PRUNED`` when a scheduler stopped it before that (as
Optuna's own pruners leave a trial: TPE ranks it by how far it got), or ``FAIL`` when it failed or
ended before reporting anything. Intermediate results go to ``trial.report``, so
the study holds the learning curves too. The search
space comes from the experiment config (tune-core's distributions, converted by ``space``), from a
dict of Optuna distributions, or from a define-by-run function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tune_core import TuneError, options
from tune_core.interfaces import Searcher
from tune_core.search import merge_over, validate_points
from tune_core.search.sample import GRID_KEY, Domain
from tune_optuna.samplers import build_sampler, quiet, require_optuna
from tune_optuna.space import (
    SEP,
    Param,
    Path,
    from_config,
    from_distributions,
    nest,
    split_point,
    where,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["OptunaSearch"]

OWNER = "OptunaSearch"
#: The version of what ``save`` returns, checked by ``restore``.
STATE_FORMAT = 1


def _flat(point: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """A nested point as Optuna names: ``{"opt": {"lr": 0.1}}`` -> ``{"opt/lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in point.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flat(value, name + SEP))
        else:
            flat[name] = value
    return flat


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


class OptunaSearch(Searcher):
    """Suggests configs with an Optuna sampler (TPE by default) on an in-memory study.

    Args:
        space: where the search space comes from: ``None`` (the default) converts the tune-core
            distributions of the experiment config; a dict ``{name: optuna distribution}`` (nested
            dicts, or names joined with ``/``, for nested keys; a distribution may be written in
            Optuna's JSON form for YAML specs); or a define-by-run function of an ``optuna.Trial``
            that calls ``trial.suggest_*`` and returns ``None`` or a dict of further constants.
        metric: the result field to optimise (default: ``run``'s ``metric``).
        mode: ``"min"`` or ``"max"`` (default: ``run``'s ``mode``).
        points_to_evaluate: configs to try first (each may leave keys out), enqueued in the study
            so the model learns from them.
        sampler: an Optuna sampler instance, or one of ``"tpe"`` (the default: multivariate, with
            the constant liar), ``"cmaes"`` (needs ``cmaes``), ``"gp"`` (needs ``torch`` and
            ``scipy``) or ``"random"``.
        seed: seeds a sampler given by name.
        sampler_config: more arguments for a sampler given by name, e.g. ``{"n_startup_trials": 5}``.
        max_concurrent: at most this many of its trials live at once (paused ones count); ``None``
            for no limit. ``1`` makes the run ask and tell exactly as ``study.optimize`` does.

    Example:
        >>> tune_core.run(train, config={"lr": tune_core.loguniform(1e-4, 1e-1)}, num_samples=30,
        ...               metric="loss", mode="min", search_alg=OptunaSearch(seed=0))  # doctest: +SKIP
    """

    def __init__(
        self,
        space: Mapping[str, Any] | Callable[[optuna.Trial], Mapping[str, Any] | None] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[Mapping[str, Any]] | None = None,
        sampler: optuna.samplers.BaseSampler | str | None = None,
        seed: int | None = None,
        sampler_config: Mapping[str, Any] | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        require_optuna()
        self.metric = options.text(OWNER, "metric", metric, optional=True)
        self.mode = None if mode is None else options.choice(OWNER, "mode", mode, ("min", "max"))
        options.integer(OWNER, "seed", seed, minimum=0, optional=True)
        self.max_concurrent = options.integer(OWNER, "max_concurrent", max_concurrent, minimum=1, optional=True)
        self._sampler = build_sampler(OWNER, "tpe" if sampler is None else sampler, seed, sampler_config)
        self._define_by_run: Callable[[optuna.Trial], Mapping[str, Any] | None] | None = None
        self._fixed: list[Param] | None = None  # from `space=` (a dict) or the config
        if isinstance(space, Mapping):
            self._fixed = from_distributions(OWNER, space)
        elif callable(space):
            self._define_by_run = space
        elif space is not None:
            raise TuneError(f"{OWNER}: `space` must be a dict {{name: optuna distribution}} or a define-by-run "
                            f"function of an optuna.Trial, got {space!r}")
        self._space_given = space is not None
        if points_to_evaluate is not None and not isinstance(points_to_evaluate, (list, tuple)):
            raise TuneError(f"{OWNER}: `points_to_evaluate` must be a list of config dicts, got {points_to_evaluate!r}")
        for index, point in enumerate(points_to_evaluate or ()):
            if not isinstance(point, Mapping):
                raise TuneError(f"{OWNER}: points_to_evaluate[{index}] must be a config dict, got {point!r}")
        self._points = [dict(point) for point in points_to_evaluate or ()]
        self._extras: list[list[tuple[Path, Any]]] = []  # per point: its values for keys Optuna does not search
        self._study: optuna.Study | None = None
        self._live: dict[str, optuna.Trial] = {}  # tune-core trial id -> the Optuna trial it runs
        self._steps: dict[str, int] = {}  # tune-core trial id -> last step reported to Optuna

    @property
    def study(self) -> optuna.Study:
        """The Optuna study (after the run started): ``searcher.study.best_params``, ``.trials``..."""
        if self._study is None:
            raise TuneError(f"{OWNER}: no study yet; it is made when the run starts")
        return self._study

    # --- set-up ---------------------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any]) -> bool:
        """Adopt the run's metric/mode, convert the space and start the study (before any suggestion)."""
        super().set_search_properties(metric, mode, config)
        if self.metric is None or self.mode is None:
            raise TuneError(f"{OWNER} needs a metric and a mode (got metric={self.metric!r}, mode={self.mode!r}): "
                            "give metric= and mode= to run(), or to OptunaSearch")
        options.choice(OWNER, "mode", self.mode, ("min", "max"))
        optuna = require_optuna()
        waiting = optuna.trial.TrialState.WAITING
        if self._study is not None and any(t.state != waiting for t in self._study.get_trials(deepcopy=False)):
            return True  # called again once the search is under way: the study stays
        if self._space_given:
            searched = [where(path) for path in _searched_paths(config)]
            if searched:
                raise TuneError(f"{OWNER} was given `space=` and the config holds search values too "
                                f"(`{'`, `'.join(searched)}`); give the search space in one place")
            params = self._fixed
        else:
            params = from_config(OWNER, config)
        enqueued = self._check_points(params, config)
        self._fixed = params
        direction = "minimize" if self.mode == "min" else "maximize"
        with quiet():
            self._study = optuna.create_study(direction=direction, sampler=self._sampler)
            for point in enqueued:
                self._study.enqueue_trial(point)
        return True

    def _check_points(self, params: list[Param] | None, config: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``points_to_evaluate`` as Optuna parameters; each point's other values go to ``_extras``."""
        self._extras = []
        if params is None:  # define-by-run: names are only known once the function runs
            self._extras = [[] for _ in self._points]  # filled as each point's trial runs
            return [_flat(point) for point in self._points]
        if not self._space_given:
            validate_points(OWNER, self._points, config)
            by_path = {param.path: param for param in params}
            enqueued = []
            for point in self._points:
                found, extras = split_point(point, by_path)
                enqueued.append(found)
                self._extras.append(extras)
            return enqueued
        by_name = {param.name: param for param in params}
        for index, point in enumerate(self._points):
            for name, value in _flat(point).items():
                param = by_name.get(name)
                if param is None:
                    raise TuneError(f"{OWNER}: points_to_evaluate[{index}] sets {name!r}, which is not in the space "
                                    f"(its names: {', '.join(map(repr, by_name)) or '(none)'})")
                if not param.allows(value):
                    raise TuneError(f"{OWNER}: points_to_evaluate[{index}]: {name!r} = {value!r} is outside its "
                                    f"distribution {param.distribution!r}")
            self._extras.append([])
        return [_flat(point) for point in self._points]

    # --- the search -----------------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """One ``study.ask()``; ``None`` while ``max_concurrent`` trials are live."""
        study = self.study
        if self.max_concurrent is not None and len(self._live) >= self.max_concurrent:
            return None
        with quiet():
            if self._define_by_run is None:
                trial = study.ask({param.name: param.distribution for param in self._fixed or ()})
                config = nest((param.path, param.decode(trial.params[param.name])) for param in self._fixed or ())
            else:
                trial = study.ask()
                config = self._run_define_by_run(study, trial)
        if trial.number < len(self._points):  # an enqueued point: its values for other keys win
            config = merge_over(config, nest(self._extras[trial.number]))
        self._live[trial_id] = trial
        return config

    def _run_define_by_run(self, study: optuna.Study, trial: optuna.Trial) -> dict[str, Any]:
        assert self._define_by_run is not None
        try:
            constants = self._define_by_run(trial)
            if constants is not None and not isinstance(constants, Mapping):
                raise TuneError(f"{OWNER}: the define-by-run space must return None or a dict of constants, "
                                f"got {constants!r}")
        except BaseException:
            study.tell(trial, state=require_optuna().trial.TrialState.FAIL)
            raise
        config = nest((tuple(name.split(SEP)), value) for name, value in trial.params.items())
        if trial.number < len(self._points):  # keys of the point the function did not suggest
            self._extras[trial.number] = [(tuple(name.split(SEP)), value) for name, value
                                          in _flat(self._points[trial.number]).items() if name not in trial.params]
        return merge_over(config, constants or {})

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Record the metric as an intermediate value at ``training_iteration``."""
        trial = self._live.get(trial_id)
        if trial is None:
            return
        value: Any = result.get(self.metric) if self.metric is not None else None
        step = result.get("training_iteration")
        if _is_real(value) and math.isfinite(value) and isinstance(step, int) and step > self._steps.get(trial_id, -1):
            trial.report(float(value), step)
            self._steps[trial_id] = step

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell the study how the trial ended: its last metric (``COMPLETE``), or ``FAIL``."""
        trial = self._live.pop(trial_id, None)
        reported = self._steps.pop(trial_id, None) is not None  # it has intermediate values
        if trial is None:
            return
        study, states = self.study, require_optuna().trial.TrialState
        with quiet():
            if error or not result:  # failed, or stopped before it reported anything
                study.tell(trial, state=states.FAIL)
                return
            if self.metric not in result:
                study.tell(trial, state=states.FAIL)
                raise TuneError(f"{OWNER}: trial {trial_id} ended without the metric {self.metric!r}; its last "
                                f"result has: {', '.join(sorted(map(str, result)))}")
            value = result[self.metric]
            if not _is_real(value):
                study.tell(trial, state=states.FAIL)
                raise TuneError(f"{OWNER}: trial {trial_id} reported {self.metric!r} = {value!r}; a number is needed")
            if math.isnan(value):
                study.tell(trial, state=states.FAIL)
            elif not result.get("done") and reported:
                # Stopped by a scheduler before its end: PRUNED, as with Optuna's own pruners, so
                # TPE ranks it by how far it got (its last step) before its value at that step.
                study.tell(trial, state=states.PRUNED)
            else:
                study.tell(trial, float(value))

    # --- resume ---------------------------------------------------------------------------------
    def save(self) -> dict[str, Any]:
        """The study (its trials and its sampler, random state included) and the live trials."""
        return {"format": STATE_FORMAT, "study": self._study, "live": dict(self._live), "steps": dict(self._steps)}

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned: the model goes on from where it was."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("study") is None:
            raise TuneError(f"{OWNER}: cannot restore from {state!r}")
        self._study = state["study"]
        self._sampler = self._study.sampler
        self._live = dict(state["live"])
        self._steps = dict(state["steps"])


def _searched_paths(config: Mapping[str, Any], path: Path = ()) -> list[Path]:
    """Where ``config`` holds tune-core distributions or grids (conditional values do not count)."""
    found: list[Path] = []
    for key, value in config.items():
        here = (*path, key)
        if isinstance(value, Domain) or (isinstance(value, dict) and len(value) == 1 and GRID_KEY in value):
            found.append(here)
        elif isinstance(value, dict):
            found += _searched_paths(value, here)
    return found
