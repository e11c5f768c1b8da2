"""The seed's quick start, runnable as is: a small grid search over ``lr`` x ``momentum``.

``train_func`` stands in for real training (see ``tune_digits.py`` for a PyTorch one): its accuracy
climbs toward 100 faster with a larger learning rate and momentum, so the six trials stop at
``mean_accuracy >= 99`` after different numbers of steps. Run it from the repository root::

    python examples/quickstart.py

``examples/quickstart.yaml`` is the same experiment for ``tune-core run``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import tune_core as tune


def train_func(config: dict[str, Any], reporter: Callable[..., Any]) -> None:
    """A synthetic learning curve: each step closes a share of the gap to 100% set by lr and momentum."""
    accuracy = 0.0
    rate = 0.1 * config["lr"] * (1.0 + config["momentum"])
    for step in range(1, 2001):
        time.sleep(0.005)  # a stand-in for one training step's work
        accuracy += (100.0 - accuracy) * rate
        reporter(timesteps_total=step, mean_accuracy=accuracy)


def main() -> None:
    """Register the trainable and run the seed's experiment."""
    tune.register_trainable("train_func", train_func)

    tune.run_experiments({
        "my_experiment": {
            "run": "train_func",
            "stop": {"mean_accuracy": 99},
            "config": {
                "lr": tune.grid_search([0.2, 0.4, 0.6]),
                "momentum": tune.grid_search([0.1, 0.2]),
            },
        }
    })


if __name__ == "__main__":
    main()
