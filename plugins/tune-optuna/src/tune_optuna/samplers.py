"""Importing Optuna on first use, and building the samplers ``OptunaSearch`` knows by name.

Optuna and the libraries some samplers need (``cmaes``; ``torch`` and ``scipy`` for the GP sampler)
are imported lazily by Optuna itself, so a missing one would only show at the first suggestion, deep
in a trial. The checks here turn each into a one-line ``TuneError`` when the searcher is built.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tune_core import TuneError, options

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

__all__ = ["SAMPLERS", "build_sampler", "quiet", "require_optuna"]

#: Sampler name -> (Optuna class, the libraries it needs beside Optuna).
SAMPLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tpe": ("TPESampler", ()),
    "cmaes": ("CmaEsSampler", ("cmaes",)),
    "gp": ("GPSampler", ("torch", "scipy")),
    "random": ("RandomSampler", ()),
}

#: What ``sampler="tpe"`` means unless ``sampler_config`` says otherwise: multivariate TPE models the
#: parameters jointly; the constant liar counts running trials as bad results, so N trials started
#: together are not N near-copies of the best config so far.
TPE_DEFAULTS = {"multivariate": True, "constant_liar": True}


def require_optuna() -> ModuleType:
    """The ``optuna`` module, or a one-line ``TuneError`` saying how to install it."""
    try:
        import optuna
    except ImportError as exc:
        if (exc.name or "optuna").split(".")[0] == "optuna":
            raise TuneError("tune-optuna needs the optuna library: pip install optuna") from None
        raise TuneError(f"tune-optuna could not import optuna: {type(exc).__name__}: {exc}") from None
    return optuna


def build_sampler(owner: str, sampler: Any, seed: int | None, config: Mapping[str, Any] | None) -> BaseSampler:
    """An Optuna sampler from an instance, or from a name in ``SAMPLERS`` with ``seed`` and ``config``."""
    optuna = require_optuna()
    if isinstance(sampler, optuna.samplers.BaseSampler):
        if seed is not None or config:
            raise TuneError(f"{owner}: `seed` and `sampler_config` apply to a sampler given by name; "
                            f"give them to {type(sampler).__name__}(...) itself")
        return sampler
    if not isinstance(sampler, str):
        raise TuneError(f"{owner}: `sampler` must be an optuna sampler or one of "
                        f"{', '.join(map(repr, SAMPLERS))}, got {sampler!r}")
    options.choice(owner, "sampler", sampler, tuple(SAMPLERS))
    class_name, needs = SAMPLERS[sampler]
    missing = [name for name in needs if importlib.util.find_spec(name) is None]
    if missing:
        raise TuneError(f"{owner}: sampler {sampler!r} needs {' and '.join(missing)}: "
                        f"pip install {' '.join(missing)}")
    if config is not None and not isinstance(config, Mapping):
        raise TuneError(f"{owner}: `sampler_config` must be a dict of {class_name} arguments, got {config!r}")
    kwargs = {**(TPE_DEFAULTS if sampler == "tpe" else {}), "seed": seed, **(config or {})}
    try:
        with warnings.catch_warnings():  # multivariate / constant_liar are "experimental" in Optuna 4
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return getattr(optuna.samplers, class_name)(**kwargs)
    except (TypeError, ValueError) as exc:
        raise TuneError(f"{owner}: cannot build optuna.samplers.{class_name} from "
                        f"sampler_config={dict(config or {})!r}: {exc}") from None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Optuna logs a line per trial at INFO; the run's status block already says it all."""
    optuna = require_optuna()
    level = optuna.logging.get_verbosity()
    if level != optuna.logging.INFO:  # the user chose a level: keep it
        yield
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
