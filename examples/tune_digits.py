"""The main job: tune a small PyTorch MLP on scikit-learn's bundled digits data set.

A grid over learning rate x momentum (8 trials, 1 CPU each) runs on the local executor; each trial trains
for a few epochs and reports validation accuracy and loss after every epoch. The console shows the
``== Status ==`` block while it runs, then the best config. No download: ``load_digits`` ships with
scikit-learn. About 10-20 s on 2 cores (plus the first import of torch).

Usage::

    python examples/tune_digits.py [--local-dir DIR] [--epochs N]

The driver loads and splits the data once and shares it with ``pin_in_object_store``, so trials import
neither scikit-learn nor the data loader: only torch.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import tune_core as tune

EXPERIMENT = "tune_digits"
EPOCHS = 20
BATCH_SIZE = 64
HIDDEN = 64
#: 4 x 2 = 8 trials; the small learning rates without momentum are the ones that lag.
SEARCH_SPACE: dict[str, Any] = {
    "lr": tune.grid_search([0.01, 0.03, 0.1, 0.3]),
    "momentum": tune.grid_search([0.0, 0.9]),
}

Arrays = tuple[Any, Any, Any, Any]  # x_train, x_val, y_train, y_val as numpy arrays


def load_split(seed: int = 0) -> Arrays:
    """Digits scaled to [0, 1] and split 80/20, stratified by class, the same split for every trial."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        (x / 16.0).astype("float32"), y.astype("int64"), test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_val, y_train, y_val


def fit(config: dict[str, Any], reporter: Callable[..., Any], data: Arrays) -> None:
    """Train the MLP with SGD for ``config["epochs"]`` epochs, reporting after each one."""
    import torch
    from torch import nn

    torch.set_num_threads(1)  # one CPU per trial: more threads would fight the trial running beside it
    torch.manual_seed(int(config.get("seed", 0)))
    x_train, x_val, y_train, y_val = (torch.from_numpy(a) for a in data)
    model = nn.Sequential(
        nn.Linear(x_train.shape[1], int(config.get("hidden", HIDDEN))),
        nn.ReLU(),
        nn.Linear(int(config.get("hidden", HIDDEN)), 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    loss_fn = nn.CrossEntropyLoss()
    n = len(x_train)
    for epoch in range(1, int(config.get("epochs", EPOCHS)) + 1):
        model.train()
        for batch in torch.randperm(n).split(BATCH_SIZE):
            optimizer.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            accuracy = (logits.argmax(dim=1) == y_val).float().mean().item()
        reporter(mean_accuracy=accuracy, mean_loss=val_loss, timesteps_total=epoch * n)


def make_trainable(data_id: Any) -> Callable[[dict[str, Any], Callable[..., Any]], None]:
    """The function trainable; it reaches the pinned data through its closure, as in the seed."""

    def train_digits(config: dict[str, Any], reporter: Callable[..., Any]) -> None:
        fit(config, reporter, tune.get_pinned_object(data_id))

    return train_digits


def main(argv: list[str] | None = None) -> int:
    """Run the tuning job and print the best config."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--local-dir", default=None, help="results root (default ~/tune_results)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs per trial (default {EPOCHS})")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data_id = tune.pin_in_object_store(load_split())
    analysis = tune.run(
        make_trainable(data_id),
        name=EXPERIMENT,
        config={**SEARCH_SPACE, "epochs": args.epochs},
        stop={"mean_accuracy": 0.99},
        resources={"cpu": 1},
        local_dir=args.local_dir,
        verbose=1,
    )
    best = analysis.get_best_config(metric="mean_accuracy", mode="max")
    result = analysis.get_best_result(metric="mean_accuracy", mode="max")
    logdir = analysis.get_best_logdir(metric="mean_accuracy", mode="max")
    print(f"Best trial: {os.path.basename(logdir)} (mean_accuracy {result['mean_accuracy']:.4f} at epoch "
          f"{result['training_iteration']}), in {logdir}")
    print(f"Best config: {{'lr': {best['lr']}, 'momentum': {best['momentum']}}}")
    print(f"Finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
