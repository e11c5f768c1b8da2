"""Explore: perturb a config the way PBT does, and check the mutations a user gives.

A mutation is one of:

- a list (or ``tune_core.choice([...])``): move to a neighbouring index, or resample from the list
  with ``resample_probability`` (always when the current value is not in the list);
- a distribution (``tune_core.uniform(...)``, ``randint``, ``loguniform``, ...) or a callable
  taking no argument (``lambda: random.uniform(0, 1)``; ``sample_from(f)`` is called as ``f(None)``):
  resample with ``resample_probability``, else multiply the current value by one of the
  perturbation factors (an ``int`` stays an ``int``, truncated);
- a dict of these, for a nested config.

``custom_explore_fn(config)`` runs after, on the explored copy, and returns the config to use.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tune_core import TuneError
from tune_core.search.sample import Categorical, Domain, SampleFrom

__all__ = ["check_mutations", "explore", "mutated_values"]

OWNER = "PopulationBasedTraining"


def check_mutations(mutations: Any, path: str = "hyperparam_mutations") -> dict[str, Any]:
    """``mutations`` as a dict, each value a non-empty list, a distribution, a callable or a dict
    of these; a ``TuneError`` naming the key otherwise."""
    if not isinstance(mutations, Mapping):
        raise TuneError(f"{OWNER}: `{path}` must be a dict of hyperparameter -> list, distribution or "
                        f"function, got {mutations!r} ({type(mutations).__name__})")
    checked: dict[str, Any] = {}
    for key, value in mutations.items():
        where = f"{path}[{key!r}]"
        if not isinstance(key, str):
            raise TuneError(f"{OWNER}: the keys of `{path}` must be config keys (strings), got {key!r}")
        if isinstance(value, Mapping):
            checked[key] = check_mutations(value, where)
        elif isinstance(value, (list, tuple)):
            if not value:
                raise TuneError(f"{OWNER}: `{where}` is an empty list; give the values to choose from")
            checked[key] = list(value)
        elif isinstance(value, Categorical):
            checked[key] = list(value.categories)
        elif isinstance(value, (Domain, SampleFrom)) or callable(value):
            checked[key] = value
        else:
            raise TuneError(f"{OWNER}: `{where}` must be a list of values, a distribution (e.g. "
                            f"tune_core.uniform(0, 1)) or a function returning a value, got {value!r} "
                            f"({type(value).__name__})")
    return checked


def _sample(spec: Any, rng: random.Random) -> Any:
    if isinstance(spec, list):
        return spec[rng.randrange(len(spec))]
    if isinstance(spec, Domain):
        return spec.sample(rng)
    if isinstance(spec, SampleFrom):
        return spec.func(None)
    return spec()


def _perturb(value: Any, spec: Any, rng: random.Random, resample_probability: float,
             factors: Sequence[float]) -> Any:
    if isinstance(spec, list):
        if rng.random() < resample_probability or value not in spec:
            return _sample(spec, rng)
        index = spec.index(value) + (-1 if rng.random() > 0.5 else 1)
        return spec[min(max(index, 0), len(spec) - 1)]
    if rng.random() < resample_probability or isinstance(value, bool) or not isinstance(value, (int, float)):
        return _sample(spec, rng)
    factor = factors[rng.randrange(len(factors))]
    return int(value * factor) if isinstance(value, int) else value * factor


def explore(config: Mapping[str, Any], mutations: Mapping[str, Any], *, rng: random.Random,
            resample_probability: float = 0.25, perturbation_factors: Sequence[float] = (1.2, 0.8),
            custom_explore_fn: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """A perturbed copy of ``config``: each key in ``mutations`` explored, then ``custom_explore_fn``.

    ``mutations`` is checked first (``check_mutations``). A key of ``mutations`` missing from
    ``config`` is sampled afresh.
    """
    new = _explore_level(config, mutations, rng, resample_probability, perturbation_factors)
    if custom_explore_fn is not None:
        returned = custom_explore_fn(new)
        if returned is not None:
            new = returned
        if not isinstance(new, dict):
            raise TuneError(f"{OWNER}: custom_explore_fn returned {new!r} ({type(new).__name__}); it must "
                            "return the new config as a dict (or change the one it is given and return None)")
    return new


def _explore_level(config: Mapping[str, Any], mutations: Mapping[str, Any], rng: random.Random,
                   resample_probability: float, factors: Sequence[float]) -> dict[str, Any]:
    new = copy.deepcopy(dict(config))
    for key, spec in mutations.items():
        if isinstance(spec, Mapping):
            current = new.get(key)
            new[key] = _explore_level(current if isinstance(current, Mapping) else {}, spec, rng,
                                      resample_probability, factors)
        elif key not in new:
            new[key] = _sample(spec, rng)
        else:
            new[key] = _perturb(new[key], spec, rng, resample_probability, factors)
    return new


def mutated_values(config: Mapping[str, Any], mutations: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the mutated keys in ``config``, nested keys flattened (``opt.lr``), sorted."""
    out: dict[str, Any] = {}

    def walk(level: Mapping[str, Any], specs: Mapping[str, Any], prefix: str) -> None:
        for key, spec in specs.items():
            value = level.get(key) if isinstance(level, Mapping) else None
            if isinstance(spec, Mapping):
                walk(value if isinstance(value, Mapping) else {}, spec, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(config, mutations, "")
    return dict(sorted(out.items()))
