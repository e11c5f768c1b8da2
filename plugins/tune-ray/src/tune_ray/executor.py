"""``RayExecutor`` (``executor="ray"``): each trial runs in a Ray actor, through tune-core's trial runtime.

Driver side (this module): one ``_Run`` per trial run, bound to an actor (``tune_ray.actor.TrialActor``)
created with the trial's resources, or reused from a small pool of idle actors of the same shape.
The driver keeps one ``drain`` call in flight per busy actor and ``ray.wait``s on all of them in
``poll``; each returns a batch of events tagged with the run's serial, so a stopped run's late events
are told apart from a new run of the same trial on the same actor.

Storage: a trial on the driver's node (every trial of a local Ray) writes into ``launch.logdir`` and
its checkpoints travel as paths. A trial on another node writes into a directory of its own there,
and each checkpoint comes back to the driver as bytes through Ray's object store (a restore goes the
other way), so losing a node loses no checkpoint; ``shared_storage=True`` says every node sees the
driver's ``local_dir`` (a shared file system), and checkpoints travel as paths again.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import time
from typing import Any

from tune_core import TuneError
from tune_core.interfaces import (
    TRIAL_ENDINGS,
    Checkpoint,
    DecisionPoint,
    Executor,
    ExecutorEvent,
    ExecutorLost,
    Resources,
    TrialFailed,
    TrialLaunch,
)
from tune_core.runtime import Continue, Pause, Save, Stop, pack_checkpoint, pinned_objects, ship
from tune_ray.cluster import ClusterView, Shape, describe

__all__ = ["RayExecutor"]

_NEEDS_RAY = "tune-ray needs ray: pip install 'ray>=2.9'"
#: How long one ``drain`` call waits for events on the actor before returning empty.
_DRAIN_WAIT_S = 1.0
#: How long an actor may wait to be placed before the driver asks whether any node still fits it.
_PLACEMENT_PATIENCE_S = 2.0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise TuneError(_NEEDS_RAY) from None
    return ray


def _shape(resources: Resources) -> Shape:
    """What an actor reserves for a trial: CPUs, GPUs (fractions allowed) and custom resources."""
    return (resources.cpu + resources.extra_cpu, resources.gpu + resources.extra_gpu,
            tuple(sorted((k, float(v)) for k, v in resources.custom.items() if v)))


class _Actor:
    """The driver's handle on one actor, and the ``drain`` call in flight to it."""

    __slots__ = ("born", "drain", "handle", "keys", "node", "pins", "shape", "up")

    def __init__(self, handle: Any, shape: Shape) -> None:
        self.handle = handle
        self.shape = shape
        self.born = time.monotonic()
        self.up = False  # Whether a drain call came back: the actor was placed and runs.
        self.node: str | None = None  # The Ray node id it runs on, once a drain call said.
        self.drain: Any = None  # The ObjectRef of the drain call in flight, if any.
        self.keys: set[str] = set()  # Trainables the actor holds.
        self.pins: set[str] = set()  # Pinned objects the actor knows.


class _Run:
    """One run of one trial."""

    __slots__ = ("actor", "commands", "deadline", "heard", "reused", "serial", "start", "stopping", "trial_id")

    def __init__(self, trial_id: str, serial: int, actor: _Actor, start: tuple[Any, ...], *, reused: bool) -> None:
        self.trial_id = trial_id
        self.serial = serial
        self.actor = actor
        self.reused = reused  # The actor ran an earlier run: it may have died (with its node) since.
        self.heard = False  # Whether an event of this run came back.
        self.start = start  # The launch as shipped, the trainable's key and reference.
        self.commands: list[Any] = []  # Sent so far: sent again if the run moves to a new actor.
        self.stopping = False
        self.deadline: float | None = None  # When a stopped run that has not ended gets killed.


class RayExecutor(Executor):
    """Runs each trial in a Ray actor holding the trial's resources.

    Args:
        address: a running cluster (``"host:port"``, ``"ray://host:port"``), ``"auto"`` (the cluster
            this machine belongs to), or ``None``: use the Ray session already started in this process
            (``ray.init`` called by the user), else the cluster ``RAY_ADDRESS`` names, else start a
            local Ray and shut it down at the end.
        num_cpus, num_gpus: the local Ray's size when this executor starts one (default: the machine).
        resources: custom resources of the local Ray it starts.
        object_store_memory: bytes of the local Ray's object store (default: Ray's choice).
        init_kwargs: anything else for ``ray.init``.
        max_idle_actors: idle actors kept for reuse by the next trial of the same resources.
        stop_grace_s: how long a stopped trial may take to end before its actor is killed.
        connect_timeout_s: how long to wait for ``address`` to answer.
        shared_storage: ``True``: every node sees the driver's ``local_dir`` (a shared file system);
            ``False``: no node does, not even the driver's; ``None``: only the driver's node does.
            Trials that do not share it send each checkpoint back as bytes through Ray's object store.
        autoscaling: ``True``: the cluster adds nodes on demand, so a trial that no node fits waits
            for one instead of failing; a dict such as ``{"CPU": 64, "GPU": 8}``: the same, and the
            most it can grow to (the runner counts that as the total); ``None``: autoscaling when this
            is the head node of a cluster the Ray cluster launcher manages.
    """

    def __init__(self, address: str | None = None, num_cpus: float | None = None, num_gpus: float | None = None,
                 resources: dict[str, float] | None = None, object_store_memory: int | None = None,
                 init_kwargs: dict[str, Any] | None = None, max_idle_actors: int = 8,
                 stop_grace_s: float = 10.0, connect_timeout_s: float = 10.0,
                 shared_storage: bool | None = None, autoscaling: bool | dict[str, float] | None = None) -> None:
        ray = self._ray = _import_ray()
        address = address or os.environ.get("RAY_ADDRESS") or None
        self._stop_grace_s = stop_grace_s
        self._shared_storage = shared_storage
        self._early: list[ExecutorEvent] = []  # Failures known at start, reported by the next poll.
        self._lost = False  # The cluster went away: nothing is left to wait for or to stop.
        self._told_waiting: set[Shape] = set()
        self._max_idle = max_idle_actors
        self._started_ray = False
        self._serials = itertools.count(1)
        self._current: dict[str, _Run] = {}  # trial_id -> its current run
        self._runs: dict[int, _Run] = {}  # serial -> every run whose actor is still busy with it
        self._idle: list[_Actor] = []
        self._trainables: dict[str, Any] = {}  # key -> ObjectRef of the pickled trainable
        self._pins: dict[str, Any] = {}  # handle -> ObjectRef of the pinned object
        self._actor_class: Any = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, **(init_kwargs or {})}
            if address is None:
                # A Ray of its own, even where ``ray start`` left a cluster's address on this machine.
                kwargs["address"] = "local"
                kwargs.update({k: v for k, v in (("num_cpus", num_cpus), ("num_gpus", num_gpus),
                                                 ("resources", resources),
                                                 ("object_store_memory", object_store_memory)) if v is not None})
            else:
                _check_answers(address, connect_timeout_s)
                kwargs = {k: v for k, v in kwargs.items() if k not in ("include_dashboard",)}
                kwargs["address"] = address
            try:
                ray.init(**kwargs)
            except (ConnectionError, TimeoutError, RuntimeError, ValueError) as error:
                where = f"at {address!r}" if address else "locally"
                raise TuneError(f"ray executor: could not start or reach Ray {where}: {error}") from error
            self._started_ray = True
        where = address or ("local Ray" if self._started_ray else "the Ray session of this process")
        self._cluster = ClusterView(ray, autoscaling, where)
        try:
            self._driver_node = ray.get_runtime_context().get_node_id()
        except Exception:  # A Ray Client driver is on no node of the cluster.
            self._driver_node = ""

    # --- capacity ----------------------------------------------------------------------------
    def total_resources(self) -> Resources:
        return self._cluster.total()

    def status_line(self) -> str:
        return self._cluster.status_line()

    def _placeable(self, trial_id: str, shape: Shape) -> bool:
        """Whether to create an actor of this shape now. No: a ``TuneError`` when no node the run has
        seen could ever hold it (bad input), or the trial fails when the nodes that could are gone."""
        cluster = self._cluster
        cluster.refresh()
        if cluster.fits_now(shape):
            return True
        if cluster.autoscaling:
            if shape not in self._told_waiting:
                self._told_waiting.add(shape)
                print(f"tune-core: ray executor: waiting for the cluster to add a node that can hold a trial "
                      f"asking for {describe(shape)}", file=sys.stderr)
            return True
        reason, lost = cluster.why_not(shape)
        if not lost:
            raise TuneError(f"ray executor: {reason}")
        self._early.append(TrialFailed(trial_id, f"ray executor: {reason}"))
        return False

    def _shares_disk(self, actor: _Actor) -> bool:
        """Whether a trial on this actor reads and writes the driver's ``local_dir`` itself."""
        if self._shared_storage is not None:
            return self._shared_storage
        if actor.node is not None:
            return actor.node == self._driver_node
        alive = self._cluster.alive  # Not placed yet: only a one-node cluster is sure.
        return len(alive) == 1 and self._driver_node in alive

    # --- starting ----------------------------------------------------------------------------
    def _new_actor(self, shape: Shape) -> _Actor:
        ray = self._ray
        if self._actor_class is None:
            from tune_ray.actor import TrialActor

            self._actor_class = ray.remote(max_concurrency=8)(TrialActor)
        # Idle actors of another shape hold resources the runner counts as free: let them go.
        for actor in [a for a in self._idle if a.shape != shape]:
            self._idle.remove(actor)
            ray.kill(actor.handle)
        cpu, gpu, custom = shape
        options: dict[str, Any] = {"num_cpus": cpu, "num_gpus": gpu}
        if custom:
            options["resources"] = dict(custom)
        handle = self._actor_class.options(**options).remote(self._driver_node, self._shared_storage)
        return _Actor(handle, shape)

    def _actor_for(self, shape: Shape) -> tuple[_Actor, bool]:
        """An idle actor of this shape; else one whose stopped run is winding down (the new run
        starts there when it has ended: the runner already counts its resources as free); else a new one.
        Also whether the actor is an old one (``True``) or new."""
        actor = next((a for a in self._idle if a.shape == shape), None)
        if actor is not None:
            self._idle.remove(actor)
            return actor, True
        busy = {run.actor for run in self._runs.values() if not run.stopping}
        for run in self._runs.values():
            if run.stopping and run.actor.shape == shape and run.actor not in busy:
                return run.actor, True
        return self._new_actor(shape), False

    def start_trial(self, launch: TrialLaunch) -> str:
        shape = _shape(launch.resources)
        if not any(a.shape == shape for a in self._idle) and not self._placeable(launch.trial_id, shape):
            return "ray (no node left for it)"
        key = f"{launch.trainable_name}#{id(launch.trainable)}"
        ref = self._trainables.get(key)
        if ref is None:  # by value where cloudpickle would, its file names kept for tracebacks
            ref = self._trainables[key] = self._ray.put(ship(launch.trainable))
        shipped = TrialLaunch(**{**vars(launch), "trainable": None})
        actor, reused = self._actor_for(shape)
        run = _Run(launch.trial_id, next(self._serials), actor, (shipped, key, ref), reused=reused)
        self._send_start(run)
        self._current[launch.trial_id] = run
        self._runs[run.serial] = run
        return f"ray actor {run.actor.handle._actor_id.hex()[:8]}"

    def _send_start(self, run: _Run) -> None:
        actor = run.actor
        shipped, key, ref = run.start
        restore = shipped.restore
        if restore is not None and restore.path is not None and not self._shares_disk(actor):
            # The trial cannot read the driver's disk: the checkpoint goes as bytes (the object store
            # carries an argument this large).
            restore = Checkpoint(restore.iteration, data=pack_checkpoint(restore.path))
            shipped = TrialLaunch(**{**vars(shipped), "restore": restore})
        blob = None
        if key not in actor.keys:
            blob = ref  # A top-level ObjectRef argument reaches the actor as its value.
            actor.keys.add(key)
        pins = {}
        for handle, obj in pinned_objects().items():
            if handle not in actor.pins:
                if handle not in self._pins:
                    self._pins[handle] = self._ray.put(obj)
                pins[handle] = self._pins[handle]  # Nested in a dict: stays a reference.
                actor.pins.add(handle)
        if actor.drain is None:  # The start is the drain call in flight: its answer holds the first events.
            actor.drain = actor.handle.start.remote(run.serial, shipped, key, blob, pins, _DRAIN_WAIT_S)
        else:
            actor.handle.start.remote(run.serial, shipped, key, blob, pins)
        for number, command in enumerate(run.commands, 1):
            actor.handle.command.remote(run.serial, number, command)

    # --- commands ----------------------------------------------------------------------------
    def _command(self, trial_id: str, command: Any) -> bool:
        run = self._current.get(trial_id)
        if run is None:
            return False
        run.commands.append(command)  # Numbered: a threaded actor may take the calls in any order.
        run.actor.handle.command.remote(run.serial, len(run.commands), command)
        return True

    def continue_trial(self, trial_id: str, decision_point: DecisionPoint | None) -> None:
        self._command(trial_id, Continue(trial_id, decision_point))

    def pause_trial(self, trial_id: str) -> bool:
        return self._command(trial_id, Pause(trial_id))

    def save_trial(self, trial_id: str) -> bool:
        return self._command(trial_id, Save(trial_id))

    def stop_trial(self, trial_id: str) -> None:
        self._early = [event for event in self._early if event.trial_id != trial_id]
        run = self._current.pop(trial_id, None)
        if run is None:
            return
        run.stopping = True
        run.deadline = time.monotonic() + self._stop_grace_s
        run.commands.append(Stop(trial_id))
        run.actor.handle.command.remote(run.serial, len(run.commands), run.commands[-1])

    # --- events ------------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[ExecutorEvent]:
        ray = self._ray
        events, self._early = self._early, []
        by_ref = {run.actor.drain: run.actor for run in self._runs.values() if run.actor.drain is not None}
        if events:
            timeout = 0.0
        if not by_ref:
            time.sleep(min(max(timeout, 0.0), 0.05))
            return events
        refs = list(by_ref)
        ready, _ = ray.wait(refs, num_returns=1, timeout=max(timeout, 0.0))
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            actor = by_ref[ref]
            actor.drain = None
            try:
                actor.node, batch = ray.get(ref)
            except ray.exceptions.RayError as error:
                self._actor_died(actor, error, events)
                continue
            actor.up = True
            for serial, event in batch:
                self._take(serial, event, events)
            if any(run.actor is actor for run in self._runs.values()):
                actor.drain = actor.handle.drain.remote(_DRAIN_WAIT_S)
        self._kill_overdue(events)
        return events

    def _take(self, serial: int, event: Any, events: list[ExecutorEvent]) -> None:
        run = self._runs.get(serial)
        if run is None:
            return  # A late event of a run that already ended.
        run.heard = True
        if not run.stopping:
            events.append(event)
        if isinstance(event, TRIAL_ENDINGS):
            self._end(run, reuse=True)

    def _end(self, run: _Run, *, reuse: bool) -> None:
        del self._runs[run.serial]
        if self._current.get(run.trial_id) is run:
            del self._current[run.trial_id]
        if any(other.actor is run.actor for other in self._runs.values()):
            return  # Another run waits on this actor.
        if reuse and len(self._idle) < self._max_idle and not self._placement_waits(time.monotonic()):
            self._idle.append(run.actor)
        elif reuse:
            self._kill(run.actor)

    def _placement_waits(self, now: float) -> bool:
        """Whether an actor has waited a while to be placed (resources short: a lost node, idle actors)."""
        return any(not r.actor.up and now - r.actor.born > 2.0 for r in self._runs.values())

    def _actor_died(self, actor: _Actor, error: BaseException, events: list[ExecutorEvent]) -> None:
        """A drain call failed: the actor died (its process, or its node, is gone) or Ray cannot reach
        it. Its runs end; the current one fails, unless the actor was an old one that died before the
        run began (idle, maybe with its node): that run starts again on a new actor."""
        why = self._cluster.gone(self._driver_node)
        if why is not None:
            self._lost = True
            raise ExecutorLost(f"ray executor: the Ray cluster ({self._cluster.where}) went away: {why}; "
                               f"the actor running a trial died with: {str(error).splitlines()[0][:300]}")
        # "Unavailable" may be a network fault that passes: kill it, so the trial never runs twice.
        self._kill(actor)
        # Idle actors may have been on the same lost node (and Ray tells nothing of idle ones): let them go.
        for idle in self._idle:
            self._kill(idle)
        self._idle.clear()
        for run in [r for r in self._runs.values() if r.actor is actor]:
            if run.reused and not run.heard and not run.stopping:
                run.reused = False
                run.actor = self._new_actor(actor.shape)
                self._send_start(run)
                continue
            self._end(run, reuse=False)
            if not run.stopping:
                events.append(TrialFailed(run.trial_id, f"the Ray actor running the trial died: {error}"))

    def _kill(self, actor: _Actor) -> None:
        try:
            self._ray.kill(actor.handle)
        except Exception:  # Already gone, or its node is: nothing left to end.
            pass

    def _kill_overdue(self, events: list[ExecutorEvent]) -> None:
        now = time.monotonic()
        for run in [r for r in self._runs.values() if r.deadline is not None and now >= r.deadline]:
            if run.serial not in self._runs:
                continue
            stuck = run.actor
            waiting = [r for r in self._runs.values() if r.actor is stuck and r is not run]
            self._end(run, reuse=False)
            self._ray.kill(stuck.handle)
            for other in waiting:  # Runs queued behind the stuck one: to a new actor.
                if other.stopping:
                    self._end(other, reuse=False)
                else:
                    other.actor = self._new_actor(stuck.shape)
                    self._send_start(other)
        # Idle actors hold resources that an actor still waiting to be placed may need.
        if self._idle and self._placement_waits(now):
            for actor in self._idle:
                self._kill(actor)
            self._idle.clear()
        self._fail_unplaceable(now, events)

    def _fail_unplaceable(self, now: float, events: list[ExecutorEvent]) -> None:
        """An actor still waiting for a place that no alive node can give (its node went away while it
        waited): its trial fails, naming what it asks for, instead of waiting forever."""
        cluster = self._cluster
        if cluster.autoscaling:
            return
        waiting = [r for r in self._runs.values() if not r.actor.up and now - r.actor.born > _PLACEMENT_PATIENCE_S]
        if not waiting:
            return
        cluster.refresh()
        for run in waiting:
            if run.serial not in self._runs or cluster.fits_now(run.actor.shape):
                continue
            reason, _ = cluster.why_not(run.actor.shape)
            self._kill(run.actor)
            for other in [r for r in self._runs.values() if r.actor is run.actor]:
                self._end(other, reuse=False)
                if not other.stopping:
                    events.append(TrialFailed(other.trial_id, f"ray executor: {reason}"))

    # --- the end -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        ray = self._ray
        for trial_id in list(self._current):
            self.stop_trial(trial_id)
        deadline = time.monotonic() + min(self._stop_grace_s, 5.0)
        while self._runs and not self._lost and time.monotonic() < deadline:
            try:
                self.poll(0.1)
            except ExecutorLost:
                break
        for run in list(self._runs.values()):
            self._end(run, reuse=False)
            self._kill(run.actor)
        for actor in self._idle:
            self._kill(actor)
        self._idle.clear()
        self._trainables.clear()
        self._pins.clear()
        if self._started_ray:
            self._started_ray = False
            ray.shutdown()


def _check_answers(address: str, timeout_s: float) -> None:
    """Fail fast, with a clear error, when nothing listens at ``address`` (``ray.init`` may retry long)."""
    if address == "auto":
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise TuneError(f"ray executor: `address` must be 'host:port', 'ray://host:port', 'auto' or None, "
                        f"got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as error:
        raise TuneError(f"ray executor: no Ray cluster answers at {address!r} ({error})") from None
