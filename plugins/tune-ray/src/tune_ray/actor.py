"""The trial side: a Ray actor that runs one trial at a time through tune-core's ``TrialHost``.

The actor is threaded (``max_concurrency``): ``start`` hands a run to the actor's runner thread,
``command`` delivers the runner's commands while the trial runs, and ``drain`` is a long poll the
driver keeps one call of in flight per actor: it returns every event buffered since the last call as
soon as there is one (or an empty list after ``wait_s``). The trial's results therefore come back in
batches, with no round trip per result.

Every run on an actor has a serial number given by the driver. Events are tagged with it, and a
command for another serial is kept (an early one, whose ``start`` has not run yet: threaded actors do
not keep call order) or dropped (a late one, for a run that already ended). For the same reason the
driver numbers each run's commands, and the host gets them in that order (a ``Continue`` must not
overtake the ``Save`` sent before it).

An actor on a node that does not share the driver's disk runs each trial in a directory of its own
under this node's temporary directory, and its host sends checkpoints back as bytes.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import traceback
from typing import Any

from tune_core.interfaces import TrialFailed, TrialLaunch
from tune_core.runtime import Transport, TrialHost, set_pin_resolver, unship
from tune_ray.cluster import short_node

__all__ = ["TrialActor"]


class _ActorTransport(Transport):
    """The host's line: events into the actor's buffer, commands from the current run's queue."""

    def __init__(self, actor: TrialActor) -> None:
        self._actor = actor

    def send(self, *messages: Any) -> None:
        self._actor._push(messages)

    def recv(self, timeout: float | None) -> Any:
        try:
            if timeout == 0:
                return self._actor._commands.get_nowait()
            return self._actor._commands.get(timeout=timeout)
        except queue.Empty:
            return None


class TrialActor:
    """Wrapped with ``ray.remote`` by the executor; one per trial slot, reused across trials.

    Args:
        driver_node: the Ray node id of the driver ("" for a driver on no node: Ray Client).
        shared_storage: the executor's ``shared_storage`` (``None``: shared on the driver's node only).
    """

    def __init__(self, driver_node: str = "", shared_storage: bool | None = None) -> None:
        import ray

        self._node = ray.get_runtime_context().get_node_id()
        self._shared = shared_storage if shared_storage is not None else self._node == driver_node
        self._lock = threading.Condition()
        self._events: list[tuple[int, Any]] = []
        self._serial = 0  # The run the actor runs now (or ran last).
        self._waiting: dict[int, dict[int, Any]] = {}  # serial -> {number: command} not yet handed on
        self._next = 1  # The number of the current run's next command to hand to the host.
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._trainables: dict[str, Any] = {}
        self._pins: dict[str, Any] = {}
        self._starts: queue.SimpleQueue[tuple[int, TrialLaunch, str, bytes | None, dict[str, Any]]] = (
            queue.SimpleQueue())
        set_pin_resolver(self._resolve_pin)
        self._host = TrialHost(_ActorTransport(self), shared_storage=self._shared, node=short_node(self._node))
        threading.Thread(target=self._serve, name="tune-ray-trials", daemon=True).start()

    # --- called by the driver ----------------------------------------------------------------
    def start(self, serial: int, launch: TrialLaunch, key: str, blob: bytes | None, pins: dict[str, Any],
              drain_s: float | None = None) -> tuple[str, list[tuple[int, Any]]] | None:
        """Queue a run. With ``drain_s`` the call is also the actor's ``drain``: a short trial's whole
        run comes back in the answer to its start (one actor call per trial instead of two)."""
        self._starts.put((serial, launch, key, blob, pins))
        return None if drain_s is None else self.drain(drain_s)

    def command(self, serial: int, number: int, command: Any) -> None:
        """The ``number``-th command of run ``serial``; handed to the host in number order."""
        with self._lock:
            if serial < self._serial:
                return  # A late command for a run that ended; dropped.
            self._waiting.setdefault(serial, {})[number] = command
            if serial == self._serial:
                self._hand_on()

    def _hand_on(self) -> None:
        """Under the lock: pass the current run's commands on, in order, as far as they have come."""
        waiting = self._waiting.get(self._serial, {})
        while self._next in waiting:
            self._commands.put(waiting.pop(self._next))
            self._next += 1

    def drain(self, wait_s: float) -> tuple[str, list[tuple[int, Any]]]:
        """This actor's node, and everything buffered since the last call (waiting up to ``wait_s``
        for the first event)."""
        with self._lock:
            if not self._events:
                self._lock.wait(wait_s)
            events, self._events = self._events, []
        return self._node, events

    # --- the trial's side --------------------------------------------------------------------
    def _push(self, messages: tuple[Any, ...]) -> None:
        with self._lock:
            serial = self._serial
            self._events.extend((serial, message) for message in messages)
            self._lock.notify_all()

    def _resolve_pin(self, handle: str) -> Any:
        import ray

        from tune_core import TuneError

        ref = self._pins.get(handle)
        if ref is None:
            raise TuneError(f"get_pinned_object: no object is pinned as {handle!r} in this driver")
        return ray.get(ref)

    def _serve(self) -> None:
        while True:
            serial, launch, key, blob, pins = self._starts.get()
            with self._lock:
                self._serial, self._next = serial, 1
                self._commands = queue.SimpleQueue()
                for old in [s for s in self._waiting if s < serial]:
                    del self._waiting[old]
                self._hand_on()  # Commands that came before this start.
            self._pins.update(pins)
            try:
                if blob is not None:
                    self._trainables[key] = unship(blob)
                trainable = self._trainables[key]
            except BaseException:
                self._push((TrialFailed(launch.trial_id, "could not load the trainable in the Ray actor:\n"
                                        + traceback.format_exc()),))
                continue
            self._run(launch, trainable)

    def _run(self, launch: TrialLaunch, trainable: Any) -> None:
        before = {key: os.environ.get(key) for key in launch.env}
        os.environ.update(launch.env)
        workdir = None
        if not self._shared:  # The driver's directory is not on this node: one of the trial's own here.
            workdir = os.path.join(tempfile.gettempdir(), "tune-ray", launch.experiment_id or "experiment",
                                   os.path.basename(launch.logdir.rstrip("/")))
        try:
            self._host.run(launch, trainable, workdir=workdir)
        except BaseException:  # The host reports the trial's own errors; this is anything else.
            self._push((TrialFailed(launch.trial_id, "the Ray actor failed running the trial:\n"
                                    + traceback.format_exc()),))
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
