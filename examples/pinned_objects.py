"""The seed's large-data example: pin an array once in the driver, read it in every trial.

``pin_in_object_store`` puts the object where every worker can load it once (shared memory or a
memory-mapped file on the local executor, ``ray.put`` on the Ray executor); ``get_pinned_object``
returns it inside a trial. The handle is small, so the trainable can capture it in a closure::

    python examples/pinned_objects.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tune_core import (
    get_pinned_object,
    grid_search,
    pin_in_object_store,
    register_trainable,
    run_experiments,
)

#: The seed pins 10**8 doubles (800 MB); a million keeps the example quick and light.
SIZE = 1_000_000


def main() -> None:
    """Pin the array, register a trainable that reads it, and run two trials."""
    # X_id can be referenced in a closure.
    X_id = pin_in_object_store(np.random.default_rng(0).random(size=SIZE))

    def f(config: dict[str, Any], reporter: Callable[..., Any]) -> None:
        X = get_pinned_object(X_id)
        # use X: each trial reads a different slice of the shared array
        chunk = X[config["part"] :: 2]
        reporter(timesteps_total=int(chunk.size), mean_accuracy=float(chunk.mean()))

    register_trainable("f", f)
    run_experiments({
        "pinned_objects": {
            "run": "f",
            "config": {"part": grid_search([0, 1])},
        }
    })


if __name__ == "__main__":
    main()
