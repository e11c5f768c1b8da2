"""``HyperOptSearch``: hyperopt's own TPE (``tpe.suggest`` on a ``Trials``) as a tune-core ``Searcher``.

Each suggestion is made the way ``fmin`` makes it: a new trial id from the ``Trials``, a seed
drawn from the numpy generator (``rstate.integers(2**31 - 1)``), then ``tpe.suggest``. So one seed
gives the configs ``fmin(..., rstate=np.random.default_rng(seed))`` would try. Live trials stay in
the ``Trials`` as running documents, which TPE counts as pending (infinitely bad) points, so
concurrent suggestions spread out instead of repeating each other.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping
from typing import Any

from tune_core import TuneError, options
from tune_core.interfaces import Searcher
from tune_core.search import merge_over, validate_points
from tune_core.search.sample import Domain
from tune_hyperopt.data_space import holds_hyperopt, space_from_data
from tune_hyperopt.library import hyperopt_domain, load_hyperopt, load_numpy
from tune_hyperopt.native import NativeSpace
from tune_hyperopt.space import TuneSpace, find_grid, format_path

__all__ = ["HyperOptSearch"]

log = logging.getLogger(__name__)

OWNER = "HyperOptSearch"
#: Bumped when ``save()``'s layout changes, so an old state fails clearly instead of half-restoring.
_STATE_VERSION = 1


class HyperOptSearch(Searcher):
    """Tree-structured Parzen Estimators, by hyperopt.

    Args:
        space: a hyperopt space (a dict of ``hp.*`` expressions, nested dicts allowed). ``None``:
            the distributions in the experiment's config are converted (see the README's table).
        metric: the result field to optimise; ``None``: ``run``'s ``metric``.
        mode: ``"min"`` or ``"max"``; ``None``: ``run``'s ``mode``.
        points_to_evaluate: configs (possibly partial) to try first; hyperopt learns from their
            results like from its own suggestions.
        n_initial_points: suggestions drawn at random before TPE models the results
            (``tpe.suggest``'s ``n_startup_jobs``).
        random_state_seed: seeds the numpy generator each suggestion's seed is drawn from.
        gamma: the fraction of the best results TPE models as "good" (``tpe.suggest``'s ``gamma``).
    """

    def __init__(self, space: Mapping[str, Any] | None = None, metric: str | None = None, mode: str | None = None,
                 points_to_evaluate: list[dict[str, Any]] | None = None, n_initial_points: int = 20,
                 random_state_seed: int | None = None, gamma: float = 0.25) -> None:
        load_hyperopt()  # fail here, in one line, when the library is missing
        self.metric = options.text(OWNER, "metric", metric, optional=True)
        self.mode = _check_mode(mode)
        self.n_initial_points = options.integer(OWNER, "n_initial_points", n_initial_points, minimum=0)
        self.random_state_seed = options.integer(OWNER, "random_state_seed", random_state_seed, optional=True)
        self.gamma = options.number(OWNER, "gamma", gamma, minimum=0, maximum=1)
        if self.gamma == 0:
            raise TuneError(f"{OWNER}: `gamma` must be a number > 0 and <= 1 (TPE needs some results to call "
                            "good), got 0")
        if space is not None and not isinstance(space, Mapping):
            raise TuneError(f"{OWNER}: `space` must be a dict of config keys to hyperopt expressions "
                            f"(hp.uniform(...), ...), got {space!r}")
        if points_to_evaluate is not None and not isinstance(points_to_evaluate, (list, tuple)):
            raise TuneError(f"{OWNER}: `points_to_evaluate` must be a list of config dicts, got {points_to_evaluate!r}")
        self.space = space
        self.points_to_evaluate = list(points_to_evaluate or [])
        self._space: TuneSpace | NativeSpace | None = None
        self._domain: Any = None
        self._trials: Any = None
        self._rstate: Any = None
        self._points: list[dict[str, Any]] = []  # known points not suggested yet
        self._live: dict[str, int] = {}  # trial_id -> hyperopt tid

    # -- setting up --------------------------------------------------------------------------------

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any]) -> bool:
        """Take ``run``'s metric/mode where unset, and build the hyperopt space and ``Trials``."""
        super().set_search_properties(metric, mode, config)
        self._setup(config)
        return True

    def _setup(self, config: Mapping[str, Any]) -> None:
        hyperopt, numpy = load_hyperopt(), load_numpy()
        if self.metric is None or self.mode is None:
            missing = " and ".join(f"`{name}`" for name in ("metric", "mode") if getattr(self, name) is None)
            raise TuneError(f"{OWNER} needs {missing} (the result field to optimise, 'min' or 'max'): "
                            "give them to HyperOptSearch or to run")
        _check_mode(self.mode)
        if self.space is not None:
            self._check_config_has_no_distributions(config)
        if self.space is not None and holds_hyperopt(self.space):
            self._space = NativeSpace(self.space, OWNER)
            points = self._check_native_points(self.points_to_evaluate)
        else:
            space = config if self.space is None else merge_over(dict(config), space_from_data(self.space, OWNER))
            self._space = TuneSpace(space, OWNER)
            if not self._space.labels:
                raise TuneError(f"{OWNER}: nothing to search: the config has no distribution (uniform, "
                                "choice, ...) hyperopt can take, and no hyperopt `space` was given")
            points = validate_points(OWNER, self.points_to_evaluate, space)
            for index, point in enumerate(points):
                self._space.encode(point, f"{OWNER}: points_to_evaluate[{index}]")
        if self._space.left:
            log.warning("%s leaves %s to random sampling by SearchGenerator: hyperopt cannot express "
                        "search values inside lists or choices holding sample_from/lambdas",
                        OWNER, ", ".join(f"`{path}`" for path in self._space.left))
        self._domain = hyperopt_domain(self._space.expr)
        self._trials = hyperopt.Trials()
        self._rstate = numpy.random.default_rng(self.random_state_seed)
        self._points = points
        self._live = {}

    def _check_config_has_no_distributions(self, config: Mapping[str, Any]) -> None:
        grid = find_grid(dict(config))
        found = [format_path(path) for path, value in _walk(config, ()) if isinstance(value, Domain)]
        if grid is not None or found:
            where = ", ".join(f"`{path}`" for path in ([format_path(grid)] if grid else []) + found)
            raise TuneError(f"{OWNER} was given a hyperopt `space`, and the config has search values too "
                            f"({where}): give the whole space one way, as hp.* in `space` or in the config")

    def _check_native_points(self, points: list[Any]) -> list[dict[str, Any]]:
        assert isinstance(self._space, NativeSpace)
        for index, point in enumerate(points):
            where = f"{OWNER}: points_to_evaluate[{index}]"
            if not isinstance(point, Mapping):
                raise TuneError(f"{where} must be a config dict, got {point!r}")
            self._space.encode(point, where)
        return [dict(point) for point in points]

    def _ready(self) -> None:
        if self._trials is None:
            if self.space is None:
                raise TuneError(f"{OWNER} has no search space yet: pass `space=` (a hyperopt space), or "
                                "let the run give it the config (set_search_properties)")
            self._setup({})

    # -- suggesting --------------------------------------------------------------------------------

    @property
    def trials(self) -> Any:
        """hyperopt's ``Trials``: every suggestion so far, with the loss or failure of each ended one."""
        self._ready()
        return self._trials

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next config: a known point while any is left, then TPE's proposal."""
        self._ready()
        hyperopt = load_hyperopt()
        trials, space = self._trials, self._space
        assert space is not None
        tid = trials.new_trial_ids(1)[0]
        if self._points:
            point = self._points.pop(0)
            doc = self._point_doc(tid, point)
        else:
            point = None
            trials.refresh()
            seed = int(self._rstate.integers(2**31 - 1))  # as fmin draws it, one per suggestion
            docs = hyperopt.tpe.suggest([tid], self._domain, trials, seed, n_startup_jobs=self.n_initial_points,
                                        gamma=self.gamma, verbose=False)
            if not docs:
                return None
            doc = docs[0]
        doc["state"] = hyperopt.JOB_STATE_RUNNING  # pending: TPE counts it as a point being tried
        trials.insert_trial_docs([doc])
        trials.refresh()
        self._live[trial_id] = tid
        config = space.config(_active_vals(doc))
        return merge_over(config, point) if point is not None else config

    def _point_doc(self, tid: int, point: dict[str, Any]) -> dict[str, Any]:
        """A trial document for a known point; the labels it leaves out are drawn at random."""
        hyperopt = load_hyperopt()
        assert self._space is not None
        vals, complete = self._space.encode(point, f"{OWNER}: points_to_evaluate")
        if not complete:
            seed = int(self._rstate.integers(2**31 - 1))
            (drawn,) = hyperopt.rand.suggest([tid], self._domain, self._trials, seed)
            filled = merge_over(self._space.config(_active_vals(drawn)), point)
            vals, _ = self._space.encode(filled, f"{OWNER}: points_to_evaluate")
        misc = {"tid": tid, "cmd": self._domain.cmd, "workdir": self._domain.workdir,
                "idxs": {label: [tid] if label in vals else [] for label in self._space.labels},
                "vals": {label: [vals[label]] if label in vals else [] for label in self._space.labels}}
        (doc,) = self._trials.new_trial_docs([tid], [None], [self._domain.new_result()], [misc])
        return doc

    # -- learning ----------------------------------------------------------------------------------

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Give hyperopt the trial's loss (``-value`` for ``mode="max"``), or a failure when it
        errored, ended without a result, or its metric is NaN."""
        tid = self._live.pop(trial_id, None)
        if tid is None:
            return
        hyperopt = load_hyperopt()
        outcome: dict[str, Any] = {"status": hyperopt.STATUS_FAIL}
        if error:
            outcome["error"] = "the trial failed"
        elif not result:
            outcome["error"] = "the trial ended without a result"
        else:
            loss = self._loss(trial_id, result)
            if math.isnan(loss):
                outcome["error"] = f"{self.metric} is NaN"
            else:
                outcome = {"status": hyperopt.STATUS_OK, "loss": loss}
        doc = next(doc for doc in reversed(self._trials.trials) if doc["tid"] == tid)
        doc["result"] = outcome
        doc["state"] = hyperopt.JOB_STATE_DONE
        self._trials.refresh()

    def _loss(self, trial_id: str, result: Mapping[str, Any]) -> float:
        assert self.metric is not None  # _setup made sure
        if self.metric not in result:
            keys = ", ".join(sorted(map(str, result)))
            raise TuneError(f"{OWNER}: trial {trial_id} ended without the metric {self.metric!r} in its "
                            f"result, so hyperopt cannot learn from it; the result has: {keys}")
        value = result[self.metric]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy numbers are Real too
            raise TuneError(f"{OWNER}: trial {trial_id} reported {self.metric}={value!r} "
                            f"({type(value).__name__}); the metric must be a number")
        return float(value) if self.mode == "min" else -float(value)

    # -- resuming ----------------------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """What a resumed run needs to carry on the same model: every trial document (with its
        result or as pending), the random generator, the known points left and the live trials."""
        self._ready()
        assert self._space is not None
        return {"version": _STATE_VERSION, "labels": self._space.labels, "docs": list(self._trials.trials),
                "rstate": self._rstate, "points": list(self._points), "live": dict(self._live)}

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned; trials live then report here when they end."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise TuneError(f"cannot restore {OWNER} from {state!r}: not a state its save() returned")
        self._ready()
        assert self._space is not None
        if state["labels"] != self._space.labels:
            raise TuneError(f"{OWNER}: the search space changed since the run was saved (hyperopt labels "
                            f"{state['labels']} then, {self._space.labels} now); resume with the same space")
        hyperopt = load_hyperopt()
        self._trials = hyperopt.Trials()
        self._trials.insert_trial_docs(state["docs"])
        self._trials.refresh()
        self._rstate = state["rstate"]
        self._points = list(state["points"])
        self._live = dict(state["live"])


def _check_mode(mode: Any) -> str | None:
    if mode is None:
        return None
    return options.choice(OWNER, "mode", mode, ("min", "max"))


def _active_vals(doc: Mapping[str, Any]) -> dict[str, Any]:
    """label -> value for the labels a trial document sets (inactive ones hold ``[]``)."""
    return {label: values[0] for label, values in doc["misc"]["vals"].items() if values}


def _walk(node: Mapping[Any, Any], path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of the nested dicts of a config."""
    out = []
    for key, value in node.items():
        out.append(((*path, key), value))
        if isinstance(value, dict):
            out += _walk(value, (*path, key))
    return out
