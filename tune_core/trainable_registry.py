"""Trainables by name: ``register_trainable("train_func", train_func)`` and the lookup the runner uses.

A function ``f(config[, reporter])`` and a ``Trainable`` subclass are trainables as they are. Any other
object (a framework's model builder, a recipe) is offered to the plugins' trainable adapters
(``tune_trainable_adapters``); the first whose ``matches`` accepts it turns it into one.
"""

from __future__ import annotations

import inspect
from typing import Any

from tune_core.errors import TuneError, describe_callable, unknown_name_error
from tune_core.trainable import Trainable, validate_trainable

__all__ = ["as_trainable", "get_trainable", "register_trainable", "registered_trainables", "resolve_run"]

_TRAINABLES: dict[str, Any] = {}


def register_trainable(name: str, trainable: Any) -> None:
    """Register a function ``f(config, reporter)``, a ``Trainable`` subclass, or an object a
    plugin's trainable adapter handles, under ``name``.

    Registering a name again replaces the earlier trainable.
    """
    if not isinstance(name, str) or not name:
        raise TuneError(f"a trainable's name must be a non-empty string, got {name!r}")
    _TRAINABLES[name] = as_trainable(name, trainable)


def as_trainable(name: str, obj: Any) -> Any:
    """``obj`` as something the runtime runs: itself, or what a trainable adapter makes of it.

    Raises:
        TuneError: naming ``name``, when ``obj`` is none of the kinds and no adapter takes it.
    """
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj) or (
        inspect.isclass(obj) and issubclass(obj, Trainable)
    ):
        validate_trainable(name, obj)
        if not inspect.isclass(obj):
            _check_function_signature(name, obj)
        return obj
    from tune_core.plugins.registry import adapt_trainable

    adapted = adapt_trainable(obj)
    if adapted is not None:
        validate_trainable(f"{name} (as adapted by a plugin)", adapted)
        return adapted
    validate_trainable(name, obj)  # A callable object is a function trainable; the rest is refused.
    return obj


def _check_function_signature(name: str, func: Any) -> None:
    """A function trainable is called as ``f(config)`` or ``f(config, reporter)``; refuse others now
    rather than fail every trial with a ``TypeError``."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # No signature to read (a builtin): trust it.
    calls: tuple[tuple[Any, ...], ...] = (({},), ({}, print))
    if any(_binds(signature, args) for args in calls):
        return
    raise TuneError(
        f"trainable {name!r}: the function {describe_callable(func)} takes {signature}, but a function "
        "trainable is called as f(config) or f(config, reporter)"
    )


def _binds(signature: inspect.Signature, args: tuple[Any, ...]) -> bool:
    try:
        signature.bind(*args)
    except TypeError:
        return False
    return True


def get_trainable(name: str) -> Any:
    try:
        return _TRAINABLES[name]
    except KeyError:
        raise unknown_name_error("trainable", name, _TRAINABLES) from None


def registered_trainables() -> list[str]:
    return sorted(_TRAINABLES)


def resolve_run(run: Any, where: str = "run") -> str:
    """The registered name for a spec's ``run``: a name, or an object registered on the fly.

    An object is registered under its ``__name__`` (or its class's name).
    """
    if isinstance(run, str):
        if run not in _TRAINABLES and ":" in run:
            _TRAINABLES[run] = as_trainable(run, _import_trainable(run, where))
        if run not in _TRAINABLES:
            raise unknown_name_error(f"trainable in `{where}`", run, _TRAINABLES)
        return run
    name = getattr(run, "__name__", None) or type(run).__name__
    _TRAINABLES[name] = as_trainable(name, run)
    return name


def _import_trainable(path: str, where: str) -> Any:
    """Load ``package.module:attribute`` (the form YAML specs use for ``run``)."""
    import importlib

    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        obj = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise TuneError(f"`{where}`: cannot import trainable {path!r}: {exc}") from exc
    return obj
