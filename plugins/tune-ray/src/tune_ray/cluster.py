"""What the driver knows of the Ray cluster: its nodes, their resources, and whether it can grow.

Read from ``ray.nodes()`` at most every ``REFRESH_S`` seconds (the runner asks for the total about
once a second), so a lost or added node changes the capacity the runner counts, and a trial asking
for what no node has is told apart from one whose only fitting node went away.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from tune_core.interfaces import Resources

__all__ = ["ClusterView", "Shape", "describe", "short_node"]

#: Seconds between two reads of the cluster's nodes.
REFRESH_S = 1.0
#: What a trial's actor reserves: CPUs, GPUs (fractions allowed), custom resources.
Shape = tuple[float, float, tuple[tuple[str, float], ...]]
#: Ray's own resources that are not for trials to ask for.
_NOT_ASKED = ("memory", "object_store_memory")
#: The file the Ray cluster launcher leaves on the head node of a cluster it manages (and scales).
_LAUNCHER_CONFIG = "~/ray_bootstrap_config.yaml"


def describe(shape: Shape) -> str:
    cpu, gpu, custom = shape
    parts = [f"{cpu:g} CPU"] + ([f"{gpu:g} GPU"] if gpu else []) + [f"{v:g} {k}" for k, v in custom]
    return ", ".join(parts)


def short_node(node_id: str) -> str:
    """A node's name in results and the status block: the first 8 hex digits of its id, as
    ``ray list nodes`` shows them."""
    return node_id[:8]


def _wanted(shape: Shape) -> dict[str, float]:
    cpu, gpu, custom = shape
    return {name: amount for name, amount in {"CPU": cpu, "GPU": gpu, **dict(custom)}.items() if amount > 0}


def _fits(node: dict[str, float], wanted: dict[str, float]) -> bool:
    return all(node.get(name, 0.0) >= amount - 1e-9 for name, amount in wanted.items())


class ClusterView:
    """The cluster as last read: alive nodes, nodes seen since the run began, totals.

    Args:
        ray: the ``ray`` module (connected).
        autoscaling: ``True``: the cluster adds nodes on demand (a trial nothing fits now waits for
            one); a dict: the same, and the most the cluster can grow to, which the runner counts as
            its total (``{"CPU": 64, "GPU": 8}``); ``False``: a fixed cluster; ``None``: told from the
            cluster launcher's file on this head node.
        where: how the status line names the cluster (its address, or "local Ray").
    """

    def __init__(self, ray: Any, autoscaling: bool | dict[str, float] | None, where: str) -> None:
        self._ray = ray
        if autoscaling is None:
            autoscaling = os.path.exists(os.path.expanduser(_LAUNCHER_CONFIG))
        self.autoscaling = bool(autoscaling)
        self._ceiling = dict(autoscaling) if isinstance(autoscaling, dict) else {}
        self.where = where
        self.alive: dict[str, dict[str, float]] = {}  # node id -> its resources
        self.seen: dict[str, dict[str, float]] = {}  # every node alive at some read since the start
        self._read_at = -REFRESH_S
        self._total = Resources(cpu=0.0)
        self.refresh(force=True)

    # --- reading -----------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._read_at < REFRESH_S:
            return
        self._read_at = now
        alive = {node["NodeID"]: {k: float(v) for k, v in (node.get("Resources") or {}).items()}
                 for node in self._ray.nodes() if node.get("Alive")}
        self.alive = alive
        self.seen.update(alive)
        self._total = self._sum(alive.values())

    def _sum(self, nodes: Any) -> Resources:
        total: dict[str, float] = {}
        for resources in nodes:
            for name, amount in resources.items():
                total[name] = total.get(name, 0.0) + amount
        for name, amount in self._ceiling.items():  # An autoscaling cluster may grow to this.
            total[name] = max(total.get(name, 0.0), float(amount))
        custom = {name: amount for name, amount in total.items()
                  if name not in ("CPU", "GPU", *_NOT_ASKED) and not name.startswith(("node:", "accelerator_type:"))}
        return Resources(cpu=total.get("CPU", 0.0), gpu=total.get("GPU", 0.0), custom=custom)

    def gone(self, driver_node: str, timeout_s: float = 5.0) -> str | None:
        """Why the cluster is gone (its GCS does not answer, or the driver's own node is dead), else
        ``None``. Bounded: Ray may retry a lost GCS for a minute."""
        answer: list[Any] = []

        def ask() -> None:
            try:
                answer.append(self._ray.nodes())
            except Exception as exc:
                answer.append(exc)

        thread = threading.Thread(target=ask, name="tune-ray-nodes", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if not answer:
            return f"its GCS did not answer within {timeout_s:g} s"
        if isinstance(answer[0], Exception):
            return f"its GCS cannot be reached ({type(answer[0]).__name__}: {answer[0]})"
        alive = {node["NodeID"] for node in answer[0] if node.get("Alive")}
        if not alive:
            return "no node of it is alive"
        if driver_node and driver_node not in alive:
            return f"the driver's own node {short_node(driver_node)} is dead"
        return None

    def total(self) -> Resources:
        self.refresh()
        return self._total

    @property
    def lost(self) -> list[str]:
        return [node for node in self.seen if node not in self.alive]

    def status_line(self) -> str:
        self.refresh()
        lost = self.lost
        nodes = ", ".join(f"{short_node(n)} {r.get('CPU', 0):g} CPU" + (f" {r['GPU']:g} GPU" if r.get("GPU") else "")
                          for n, r in list(self.alive.items())[:4])
        more = f", ... {len(self.alive) - 4} more" if len(self.alive) > 4 else ""
        text = f"Ray cluster ({self.where}): {len(self.alive)} node{'s' if len(self.alive) != 1 else ''} ({nodes}{more})"
        if lost:
            text += f"; {len(lost)} node{'s' if len(lost) != 1 else ''} lost ({', '.join(short_node(n) for n in lost)})"
        if self.autoscaling:
            text += "; autoscaling"
        return text

    # --- placing -----------------------------------------------------------------------------
    def fits_now(self, shape: Shape) -> bool:
        """Whether an alive node could hold an actor of this shape (with nothing else on it)."""
        wanted = _wanted(shape)
        return any(_fits(node, wanted) for node in self.alive.values())

    def why_not(self, shape: Shape) -> tuple[str, bool]:
        """Why no alive node can hold ``shape``, and whether a node that could is gone (a fault, not
        bad input)."""
        wanted = _wanted(shape)
        gone = [n for n in self.lost if _fits(self.seen[n], wanted)]
        missing = sorted({name for node in self.alive.values() for name, amount in wanted.items()
                          if node.get(name, 0.0) < amount - 1e-9}) or sorted(wanted)
        have = "; ".join(", ".join(f"{node.get(name, 0):g} {name}" for name in missing)
                         for node in self.alive.values()) or "no node is alive"
        text = (f"no node of the Ray cluster can hold a trial asking for {describe(shape)} (missing "
                f"{', '.join(missing)}; the nodes have: {have})")
        if gone:
            text += f"; the node{'s' if len(gone) > 1 else ''} that could ({', '.join(map(short_node, gone))}) went away"
        return text, bool(gone)
