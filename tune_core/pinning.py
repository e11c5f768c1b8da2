"""Share a large object with every trial: ``pin_in_object_store(obj)`` / ``get_pinned_object(handle)``.

Pinning keeps the object in the driver under a small string handle. The executor makes it available
where the trials run, each in its own way: the local executor writes it once to shared memory and its
workers map it (numpy arrays become read-only views of the shared pages, so N trials on M workers
cost one copy, not N); a Ray executor would put it in Ray's object store; threads simply share it.
On the trial's side ``get_pinned_object`` looks in this process first, then asks the resolver its
executor installed (``set_pin_resolver``), and keeps what it got: each object loads once per process.
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from tune_core.errors import TuneError

__all__ = ["PREFIX", "get_pinned_object", "pin_in_object_store", "pinned_objects", "set_pin_resolver"]

PREFIX = "tune_core.PinnedObject:"

#: Pinned in this process (the driver), or loaded here (a trial's process), by handle.
_objects: dict[str, Any] = {}
_pinned: dict[str, Any] = {}
_resolver: Callable[[str], Any] | None = None
_lock = threading.Lock()


def pin_in_object_store(obj: Any) -> str:
    """Keep ``obj`` for every trial of this driver; returns a small string handle.

    The handle can be captured in a trainable's closure or put in a config.

    Raises:
        TuneError: the object cannot be pickled, so no executor could ship it to a trial.
    """
    try:  # Large buffers (numpy arrays) are not copied by this check: they stay out of band.
        pickle.dumps(obj, protocol=5, buffer_callback=lambda buffer: None)
    except Exception as exc:
        raise TuneError(f"pin_in_object_store: the object cannot be pickled: {exc}") from exc
    handle = PREFIX + uuid.uuid4().hex
    _pinned[handle] = obj
    _objects[handle] = obj
    return handle


def pinned_objects() -> Mapping[str, Any]:
    """Every object this driver pinned, by handle, in the order pinned (for executors to publish)."""
    return MappingProxyType(_pinned)


def set_pin_resolver(resolver: Callable[[str], Any] | None) -> None:
    """Install how this process fetches a pinned object it does not hold (trial side of an executor)."""
    global _resolver
    _resolver = resolver


def get_pinned_object(handle: str) -> Any:
    """The object behind ``handle``; fetched once per process."""
    try:
        return _objects[handle]
    except (KeyError, TypeError):
        pass
    if not isinstance(handle, str) or not handle.startswith(PREFIX):
        raise _not_a_handle(handle)
    with _lock:
        if handle in _objects:
            return _objects[handle]
        if _resolver is None:
            raise TuneError(f"get_pinned_object: no object is pinned as {handle!r} here (was it pinned "
                            "by another driver, or has its driver exited?)")
        obj = _objects[handle] = _resolver(handle)
    return obj


def _not_a_handle(given: Any) -> TuneError:
    """What was given instead of a handle, and what a handle is."""
    import reprlib

    itself = any(given is obj for obj in _pinned.values())
    hint = ("; that is the pinned object itself: pass the handle pin_in_object_store() returned for it"
            if itself else "")
    return TuneError(
        f"get_pinned_object: {reprlib.repr(given)} is not a handle (type {type(given).__name__}); expected "
        f"the handle pin_in_object_store() returned, a str starting with {PREFIX!r}{hint}"
    )
