"""``SearchGenerator``: turns a model-based ``Searcher`` (TPE, Bayesian optimisation) into trials.

A searcher suggests one config at a time; this wraps each suggestion into a trial of the one
experiment, validated exactly like a generated config, and routes results back by trial id.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError
from tune_core.experiment import _check_picklable
from tune_core.interfaces import SearchAlgorithm, Searcher
from tune_core.search.basic import rng_state_from_data, rng_state_to_data
from tune_core.search.merge import leaf_paths, merge_over
from tune_core.search.resolve import GRID, SAMPLE, Path, format_path, search_kind
from tune_core.search.variant_generator import find_search_values, format_tag, generate_variants
from tune_core.trial import new_trial_id

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.trial import Trial

__all__ = ["SearchGenerator"]


class SearchGenerator(SearchAlgorithm):
    """Asks ``searcher`` for the configs of exactly one experiment, ``num_samples`` of them in all.

    The suggestion is merged over the experiment's config. Search values the searcher did not
    suggest are resolved as usual: distributions sampled with this generator's ``seed``,
    conditional values (``sample_from``, lambdas) evaluated over the merged config. A grid search
    the searcher leaves out is an error: a searcher cannot enumerate a grid.
    """

    def __init__(self, searcher: Searcher, seed: int | None = None) -> None:
        if not isinstance(searcher, Searcher):
            raise TuneError(f"SearchGenerator needs a tune_core.interfaces.Searcher, got {searcher!r}")
        self.searcher = searcher
        self._rng = random.Random(seed)
        self._experiment: Experiment | None = None
        self._counter = 0
        self._finished = False
        self._live: set[str] = set()

    @property
    def _name(self) -> str:
        return type(self.searcher).__name__

    def set_search_properties(self, metric: str | None, mode: str | None) -> bool:
        """Adopt ``metric``/``mode`` and pass them on to the searcher (with the search space)."""
        super().set_search_properties(metric, mode)
        if self._experiment is None:
            return True  # passed on by add_configurations, with the config
        return self.searcher.set_search_properties(self.metric, self.mode, self.search_space(self._experiment))

    def add_configurations(self, experiments: list[Experiment]) -> None:
        """Take the one experiment; the searcher gets its config as the search space."""
        if self._experiment is not None or len(experiments) != 1:
            names = [e.name for e in experiments] + ([self._experiment.name] if self._experiment else [])
            raise TuneError(
                f"SearchGenerator({self._name}) runs exactly one experiment, got {len(names)}: "
                f"{', '.join(map(repr, names))}; run each experiment with its own searcher"
            )
        self._experiment = experiments[0]
        self.searcher.set_search_properties(self.metric, self.mode, self.search_space(self._experiment))
        # The metric and mode the searcher decides by (its own, or the run's), for the run's checks.
        self.metric, self.mode = self.searcher.metric or self.metric, self.searcher.mode or self.mode

    def search_space(self, experiment: Experiment) -> dict[str, Any]:
        """The config suggestions are merged over (and the searcher gets as its space): the
        experiment's config. A subclass may return less, e.g. without a key that only describes
        the space in a library's own terms (the seed's ``config["space"]``)."""
        return experiment.config

    def max_pending_trials(self) -> int:
        """Zero: each config is suggested when its trial can start at once, knowing every result so
        far (asked ahead, a searcher proposes configs before learning from the trials ending now;
        on one CPU the run is then exactly the library's own sequential loop)."""
        return 0

    def next_trial(self) -> Trial | None:
        """The next suggested trial; ``None`` when the searcher has none now, or is done."""
        experiment = self._experiment
        if experiment is None or self.is_finished():
            return None
        trial_id = new_trial_id()
        suggestion = self.searcher.suggest(trial_id)
        if suggestion is None:
            return None
        if isinstance(suggestion, str) and suggestion == Searcher.FINISHED:
            self._finished = True
            return None
        config, suggested = self._resolve(experiment, suggestion)
        tag = format_tag(self._counter, suggested)
        _check_picklable(f"experiment {experiment.name!r}, suggestion {tag}", config)
        self._counter += 1
        self._live.add(trial_id)
        return experiment.make_trial(config, tag, trial_id=trial_id)

    def _resolve(self, experiment: Experiment, suggestion: Any) -> tuple[dict[str, Any], dict[Path, Any]]:
        """The full config for ``suggestion`` and the suggested values by path."""
        where = f"experiment {experiment.name!r}: searcher {self._name}"
        if not isinstance(suggestion, Mapping):
            raise TuneError(
                f"{where}.suggest() must return a dict, None or Searcher.FINISHED, got {suggestion!r}"
            )
        suggested = leaf_paths(suggestion, ("config",))
        for path, value in suggested.items():
            if search_kind(value, path) in (GRID, SAMPLE):
                raise TuneError(
                    f"{where} suggested `{format_path(path)}` = {value!r}, a search value; "
                    "a searcher must suggest concrete values"
                )
        spec = {"config": merge_over(self.search_space(experiment), suggestion)}
        keep = frozenset(suggested)
        grids = [f"`{format_path(path)}`" for path, kind, _ in find_search_values(spec, keep) if kind == GRID]
        variants = generate_variants(spec, self._rng, keep=keep)
        variant = None if grids else next(variants)[1]
        if variant is None or next(variants, None) is not None:  # the second: a lambda returned a grid
            raise TuneError(
                f"{where} left {', '.join(grids) or 'a grid_search'} unsuggested; a searcher cannot "
                "enumerate a grid: let it suggest the key, or use BasicVariantGenerator"
            )
        return variant["config"], suggested

    def is_finished(self) -> bool:
        """True once ``num_samples`` trials were made or the searcher said ``FINISHED``."""
        if self._experiment is not None and self._counter >= self._experiment.num_samples:
            return True
        return self._finished

    def total_trials(self) -> int | None:
        return self._experiment.num_samples if self._experiment is not None else None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self._live:
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id in self._live:
            self._live.discard(trial_id)
            self.searcher.on_trial_complete(trial_id, result, error=error)

    def save(self) -> dict[str, Any]:
        """The searcher's own state plus this generator's counter and random state."""
        return {
            "searcher": self.searcher.save(),
            "counter": self._counter,
            "finished": self._finished,
            "live": sorted(self._live),
            "rng": rng_state_to_data(self._rng.getstate()),
        }

    def restore(self, state: Any) -> None:
        """Take back what ``save`` returned; the searcher restores its own part."""
        if not isinstance(state, dict) or "searcher" not in state:
            raise TuneError(f"cannot restore SearchGenerator({self._name}) from {state!r}")
        self.searcher.restore(state["searcher"])
        self._counter = int(state["counter"])
        self._finished = bool(state["finished"])
        self._live = set(state["live"])
        self._rng.setstate(rng_state_from_data(state["rng"]))

