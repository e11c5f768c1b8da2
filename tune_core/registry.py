"""Trainables by name: ``register_trainable("train_func", train_func)`` and the lookup the runner uses."""

from __future__ import annotations

import inspect
from typing import Any

from tune_core.errors import TuneError, unknown_name_error
from tune_core.trainable import validate_trainable

__all__ = ["get_trainable", "register_trainable", "registered_trainables", "resolve_run"]

_TRAINABLES: dict[str, Any] = {}


def register_trainable(name: str, trainable: Any) -> None:
    """Register a function ``f(config, reporter)`` or a ``Trainable`` subclass under ``name``.

    Registering a name again replaces the earlier trainable.
    """
    if not isinstance(name, str) or not name:
        raise TuneError(f"a trainable's name must be a non-empty string, got {name!r}")
    validate_trainable(name, trainable)
    _TRAINABLES[name] = trainable


def get_trainable(name: str) -> Any:
    try:
        return _TRAINABLES[name]
    except KeyError:
        raise unknown_name_error("trainable", name, _TRAINABLES) from None


def registered_trainables() -> list[str]:
    return sorted(_TRAINABLES)


def resolve_run(run: Any, where: str = "run") -> str:
    """The registered name for a spec's ``run``: a name, or a function/class registered on the fly."""
    if isinstance(run, str):
        if run not in _TRAINABLES and ":" in run:
            _TRAINABLES[run] = _import_trainable(run, where)
        if run not in _TRAINABLES:
            raise unknown_name_error(f"trainable in `{where}`", run, _TRAINABLES)
        return run
    name = getattr(run, "__name__", None) or type(run).__name__
    if inspect.isclass(run) or callable(run):
        validate_trainable(name, run)
        _TRAINABLES[name] = run
        return name
    raise TuneError(
        f"`{where}` must name a registered trainable or be a function/Trainable subclass, got {run!r}"
    )


def _import_trainable(path: str, where: str) -> Any:
    """Load ``package.module:attribute`` (the form YAML specs use for ``run``)."""
    import importlib

    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        obj = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise TuneError(f"`{where}`: cannot import trainable {path!r}: {exc}") from exc
    validate_trainable(path, obj)
    return obj
