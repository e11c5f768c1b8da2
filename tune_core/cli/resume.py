"""``tune-core resume <experiment_dir>``: continue a stopped or killed experiment where it was.

The experiment is resumed in the directory it is given, wherever it was first run: a moved or copied
experiment directory goes on where it now is and writes nowhere else. A set-aside state of an earlier
run (``experiment_state-<time>.json``, see ``run_experiments``) may be given instead of a directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tune_core.errors import TuneError

__all__ = ["register", "resume_experiments"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resume",
        help="continue a stopped or killed experiment from its experiment_state.json",
        description="Finished trials stay done; the others go on from their latest checkpoint; the "
        "search algorithm and the scheduler continue from their saved state. An experiment_state-<time>.json "
        "an earlier run left may be given instead of a directory: it becomes the experiment's state again "
        "(the current one is set aside in its turn).",
    )
    parser.add_argument("experiment_dirs", nargs="+", metavar="experiment_dir")
    parser.add_argument("--executor", default=None,
                        help="where the trials go on (default: local; e.g. ray, for a new cluster)")
    parser.add_argument("--executor-config", type=json.loads, default=None, help='e.g. {"num_cpus": 4}')
    parser.add_argument("-v", "--verbose", type=int, default=1, help="0 quiet, 1 status, 2 per-trial lines")
    parser.set_defaults(func=_main)


def resume_experiments(experiment_dirs: list[str], executor_config: dict[str, Any] | None = None,
                       verbose: int = 1, executor: str | None = None) -> list[Any]:
    """Rebuild the experiments saved in ``experiment_dirs`` and run them on with ``resume=True``,
    on ``executor`` (by name; default: the default executor, whatever ran them before).

    Raises:
        KeyboardInterrupt: after a Ctrl-C, once the state is saved again (as ``run_experiments``).
    """
    from tune_core.api import run_experiments
    from tune_core.logwriter import wait_for_pending_writes

    wait_for_pending_writes()
    experiments, scheduler, search_alg = [], None, None
    for given in experiment_dirs:
        experiment, saved_search, saved_scheduler = _rebuild(_directory(given))
        experiments.append(experiment)
        scheduler = scheduler or saved_scheduler
        search_alg = search_alg or saved_search
    return run_experiments(experiments, scheduler=scheduler, search_alg=search_alg, resume=True, executor=executor,
                           executor_config=executor_config, verbose=verbose, raise_on_failed_trial=False)


def _directory(given: str) -> Path:
    """The experiment directory ``given`` names; a set-aside state file given is made its state."""
    from tune_core.state import STATE_FILE, ExperimentState, set_aside

    path = Path(os.path.abspath(os.path.expanduser(given)))
    if path.is_file():
        directory = path.parent
        if path.name != STATE_FILE:
            ExperimentState.load(directory, file=path)  # Checked before anything is moved.
            kept = set_aside(directory)
            if kept is not None:
                print(f"tune-core: the state of the latest run in {directory} is kept as {kept.name}",
                      file=sys.stderr)
            os.rename(path, directory / STATE_FILE)
        return directory
    if not path.is_dir():
        raise TuneError(f"cannot resume {given}: no such experiment directory")
    return path


def _rebuild(directory: Path) -> tuple[Any, Any, Any]:
    """The experiment saved in ``directory``, placed there (not where it first ran), and the
    search algorithm and scheduler it started with."""
    from tune_core.experiment import Experiment
    from tune_core.state import STATE_FILE, ExperimentState
    from tune_core.trainable_registry import register_trainable

    state = ExperimentState.load(directory)
    if state is None:
        earlier = sorted(p.name for p in directory.glob("experiment_state-*.json"))
        hint = f"; earlier runs' states: {', '.join(earlier)} (give one of them to resume it)" if earlier else ""
        raise TuneError(f"cannot resume {directory}: it holds no {STATE_FILE}{hint}")
    for entry in state.import_paths:  # Where `tune-core run` imported the trainable from.
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.append(entry)
    spec, saved_search, saved_scheduler = state.saved_components()
    missing = [key for key in ("name", "trainable_name", "run") if key not in spec]
    if missing:
        raise TuneError(f"cannot resume {directory}: the experiment spec in {state.path} lacks "
                        f"{', '.join(missing)}")
    spec.pop("name")
    trainable_name = spec.pop("trainable_name")
    register_trainable(trainable_name, spec.pop("run"))
    spec["local_dir"] = str(directory.parent)  # Here, wherever it first ran.
    spec["restore"] = state.rebase(spec.get("restore"))
    try:
        experiment = Experiment(directory.name, run=trainable_name, **spec)
    except TypeError as exc:
        raise TuneError(f"cannot resume {directory}: the experiment spec in {state.path} does not fit "
                        f"this version of tune-core ({exc})") from None
    return experiment, saved_search, saved_scheduler


def _main(args: argparse.Namespace) -> int:
    from tune_core.trial import ERROR

    trials = resume_experiments(args.experiment_dirs, args.executor_config, args.verbose, args.executor)
    failed = [t for t in trials if t.status == ERROR]
    print(f"{len(trials) - len(failed)} of {len(trials)} trials completed"
          + (f"; {len(failed)} ended in ERROR" if failed else ""))
    return 1 if failed else 0
