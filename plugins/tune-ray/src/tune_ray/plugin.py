"""The module the ``tune_core`` entry point names: registers the ``ray`` executor.

``ray`` is imported only when the executor is made, so ``tune-core plugins`` lists it without Ray.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from tune_core.plugins import ExecutorSpec, hookimpl, lazy


@hookimpl
def tune_executors() -> Iterator[ExecutorSpec]:
    yield ExecutorSpec(
        name="ray",
        factory=lazy("tune_ray.executor:RayExecutor"),
        description="each trial in a Ray actor holding its resources (a local Ray, or a cluster by address)",
        default_when=ray_started_here,
    )


def ray_started_here() -> bool:
    """The seed's habit: after the user's own ``ray.init()``, trials run on that Ray unless another
    executor is named. Ray is not imported for this: only a process that imported it can have started it."""
    ray = sys.modules.get("ray")
    return ray is not None and bool(ray.is_initialized())
