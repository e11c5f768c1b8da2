"""tune-ray: a Ray executor for tune-core (``executor="ray"``). Each trial runs in a Ray actor.

``RayExecutor`` is imported lazily so that importing the package does not need Ray.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RayExecutor"]


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":
        from tune_ray.executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'tune_ray' has no attribute {name!r}")
