"""``tune-core resume <experiment_dir>``: continue a stopped or killed experiment where it was."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from tune_core.errors import TuneError

__all__ = ["register", "resume_experiments"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resume",
        help="continue a stopped or killed experiment from its experiment_state.json",
        description="Finished trials stay done; the others go on from their latest checkpoint; the "
        "search algorithm and the scheduler continue from their saved state.",
    )
    parser.add_argument("experiment_dirs", nargs="+", metavar="experiment_dir")
    parser.add_argument("--executor-config", type=json.loads, default=None, help='e.g. {"num_cpus": 4}')
    parser.add_argument("-v", "--verbose", type=int, default=1, help="0 quiet, 1 status, 2 per-trial lines")
    parser.set_defaults(func=_main)


def resume_experiments(experiment_dirs: list[str], executor_config: dict[str, Any] | None = None,
                       verbose: int = 1) -> list[Any]:
    """Rebuild the experiments saved in ``experiment_dirs`` and run them on with ``resume=True``."""
    from tune_core.api import run_experiments
    from tune_core.experiment import Experiment
    from tune_core.logwriter import wait_for_pending_writes
    from tune_core.state import STATE_FILE, ExperimentState
    from tune_core.trainable_registry import register_trainable

    wait_for_pending_writes()
    experiments, scheduler, search_alg = [], None, None
    for directory in experiment_dirs:
        if not os.path.isdir(directory):
            raise TuneError(f"cannot resume {directory}: no such experiment directory")
        state = ExperimentState.load(directory)
        if state is None:
            raise TuneError(f"cannot resume {directory}: it holds no {STATE_FILE}")
        try:
            spec, saved_search, saved_scheduler = state.saved_components()
        except Exception as exc:
            raise TuneError(f"cannot resume {directory}: its saved experiment cannot be loaded here "
                            f"({type(exc).__name__}: {exc})") from exc
        scheduler = scheduler or saved_scheduler
        search_alg = search_alg or saved_search
        if not spec:
            raise TuneError(f"cannot resume {directory}: the state holds no experiment spec")
        name, trainable_name = spec.pop("name"), spec.pop("trainable_name")
        register_trainable(trainable_name, spec.pop("run"))
        experiments.append(Experiment(name, run=trainable_name, **spec))
    return run_experiments(experiments, scheduler=scheduler, search_alg=search_alg, resume=True,
                           executor_config=executor_config, verbose=verbose, raise_on_failed_trial=False)


def _main(args: argparse.Namespace) -> int:
    from tune_core.trial import ERROR

    trials = resume_experiments(args.experiment_dirs, args.executor_config, args.verbose)
    failed = [t for t in trials if t.status == ERROR]
    print(f"{len(trials) - len(failed)} of {len(trials)} trials completed"
          + (f"; {len(failed)} ended in ERROR" if failed else ""))
    return 1 if failed else 0
