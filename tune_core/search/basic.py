"""The default search algorithm: grid search, random sampling and conditionals, lazily, per experiment.

Trials come out one at a time, so a 100,000-point grid costs one variant of memory, not 100,000
trials. ``save``/``restore`` let a resumed experiment continue exactly where it left off.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tune_core.errors import TuneError
from tune_core.experiment import _check_picklable
from tune_core.interfaces import SearchAlgorithm
from tune_core.search.merge import leaf_paths, merge_over
from tune_core.search.points import validate_points
from tune_core.search.resolve import Path
from tune_core.search.variant_generator import count_variants, format_tag, generate_variants

if TYPE_CHECKING:
    from tune_core.experiment import Experiment
    from tune_core.trial import Trial

__all__ = ["BasicVariantGenerator", "rng_state_from_data", "rng_state_to_data"]

_STATE_VERSION = 1
#: (experiment index, variant index within the experiment, resolved variables, resolved config)
_Variant = tuple[int, int, dict[Path, Any], dict[str, Any]]


def rng_state_to_data(state: tuple[Any, ...]) -> list[Any]:
    """``random.Random.getstate()`` as plain lists, so the state also fits a JSON file."""
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


def rng_state_from_data(data: Any) -> tuple[Any, ...]:
    """The inverse of ``rng_state_to_data``, ready for ``random.Random.setstate``."""
    version, internal, gauss_next = data
    return (version, tuple(internal), gauss_next)


class BasicVariantGenerator(SearchAlgorithm):
    """Generates the trials of each experiment from its config: every grid point, ``num_samples`` times.

    Experiments are generated in order; the variant counter in the tag runs across the repeats of
    one experiment. ``points_to_evaluate`` (known configs, possibly partial) are tried first: the
    first repeats of each experiment take their values from them (the rest of the space is
    resolved as usual), and every point is tried even when there are more than ``num_samples``. Distributions and ``random`` in eval expressions draw from one generator seeded
    with ``seed``, so the same seed gives the same configs.

    Example:
        >>> search = BasicVariantGenerator(seed=0)  # doctest: +SKIP
        >>> search.add_configurations([experiment])
        >>> trial = search.next_trial()
    """

    def __init__(self, seed: int | None = None, points_to_evaluate: list[dict[str, Any]] | None = None) -> None:
        if points_to_evaluate is not None and not isinstance(points_to_evaluate, (list, tuple)):
            raise TuneError("BasicVariantGenerator: `points_to_evaluate` must be a list of config dicts, "
                            f"got {points_to_evaluate!r}")
        self._points = list(points_to_evaluate or [])
        self._rng = random.Random(seed)
        self._experiments: list[Experiment] = []
        self._counts: list[int | None] = []  # variants per repeat of each experiment
        self._variants: Iterator[_Variant] | None = None
        self._ahead: _Variant | None = None
        self._exhausted = False
        #: (experiment index, variants handed out in it): where a restored run continues.
        self._position = (0, 0)
        #: rng state when each experiment's generation began, for ``save``.
        self._start_states: dict[int, tuple[Any, ...]] = {}
        #: experiment names a restored state was saved for, checked when generation resumes.
        self._restored_names: list[str] | None = None

    def add_configurations(self, experiments: list[Experiment]) -> None:
        """Queue ``experiments``; their grid searches are validated now, their trials made lazily."""
        for experiment in experiments:
            validate_points(f"BasicVariantGenerator (experiment {experiment.name!r})", self._points, experiment.config)
        # Counting validates every grid search now, before anything runs; kept for total_trials.
        self._counts.extend(count_variants({"config": experiment.config}) for experiment in experiments)
        first_new = len(self._experiments)
        self._experiments.extend(experiments)
        if self._exhausted:  # experiments added after all earlier ones were used up
            self._exhausted = False
            self._variants = self._iterate(first_new, 0)

    def _iterate(self, start: int, skip: int) -> Iterator[_Variant]:
        index = start
        while index < len(self._experiments):
            experiment = self._experiments[index]
            self._start_states[index] = self._rng.getstate()
            counter = 0
            spec = {"config": experiment.config}
            for sample in range(self._samples(experiment)):
                point = self._points[sample] if sample < len(self._points) else None
                if point is None:
                    variants = generate_variants(spec, self._rng)
                else:  # A known point: its values are kept, the rest of the space resolved as usual.
                    given = leaf_paths(point, ("config",))
                    variants = generate_variants({"config": merge_over(experiment.config, point)}, self._rng,
                                                 keep=frozenset(given))
                for resolved, variant in variants:
                    if counter >= skip:
                        yield index, counter, resolved if point is None else {**given, **resolved}, variant["config"]
                    counter += 1
            index, skip = index + 1, 0

    def _samples(self, experiment: Experiment) -> int:
        """``num_samples``, or more when more points were given: every point is tried."""
        return max(experiment.num_samples, len(self._points))

    def _peek(self) -> _Variant | None:
        if self._ahead is None and not self._exhausted:
            if self._variants is None:
                self._check_names()
                self._variants = self._iterate(*self._position)
            self._ahead = next(self._variants, None)
            self._exhausted = self._ahead is None
        return self._ahead

    def next_trial(self) -> Trial | None:
        """The next trial, or ``None`` once every experiment's variants are used up."""
        variant = self._peek()
        if variant is None:
            return None
        self._ahead = None
        index, counter, resolved, config = variant
        experiment = self._experiments[index]
        tag = format_tag(counter, resolved)
        _check_picklable(f"experiment {experiment.name!r}, variant {tag}", config)
        trial = experiment.make_trial(config, tag)
        self._position = (index, counter + 1)
        return trial

    def is_finished(self) -> bool:
        """True when no trial is left (looks one variant ahead)."""
        return self._peek() is None

    def total_trials(self) -> int | None:
        """``num_samples`` x grid size summed over experiments; ``None`` when lambdas decide it."""
        if None in self._counts:
            return None
        return sum(self._samples(e) * count for e, count in zip(self._experiments, self._counts, strict=True) if count)

    def save(self) -> dict[str, Any]:
        """Where generation stands: plain data (JSON-compatible), taken back by ``restore``.

        Holds the position (experiment, variants handed out) and the random state at the start of
        that experiment; ``restore`` replays the experiment up to the position, which reproduces
        the random draws exactly.
        """
        index, handed_out = self._position
        rng_state = self._start_states.get(index, self._rng.getstate())
        return {
            "version": _STATE_VERSION,
            "experiments": [experiment.name for experiment in self._experiments],
            "experiment": index,
            "handed_out": handed_out,
            "rng": rng_state_to_data(rng_state),
        }

    def _check_names(self) -> None:
        names = [experiment.name for experiment in self._experiments]
        if self._restored_names is not None and names != self._restored_names:
            raise TuneError(
                f"cannot resume the search: it was saved for experiments {self._restored_names} "
                f"but this run has {names}"
            )

    def restore(self, state: Any) -> None:
        """Continue after the trials that were handed out when ``state`` was saved."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise TuneError(f"cannot restore BasicVariantGenerator from {state!r}: not a state it saved")
        self._restored_names = list(state["experiments"])
        if self._experiments:
            self._check_names()
        self._rng.setstate(rng_state_from_data(state["rng"]))
        self._position = (int(state["experiment"]), int(state["handed_out"]))
        self._start_states = {}
        self._variants, self._ahead, self._exhausted = None, None, False
