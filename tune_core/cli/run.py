"""``tune-core run``: run the experiments of a YAML/JSON spec file, or one given by flags."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tune_core.errors import TuneError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run experiments from a spec file (YAML/JSON) or from flags",
        description="Run experiments. A spec file holds {name: spec}, or {experiments: {name: spec}} with "
        "the run's options beside it (scheduler, scheduler_config, search_alg, search_alg_config, executor, "
        "executor_config, loggers, logger_config, metric, mode; a flag given here wins). `run:` may name a "
        "registered trainable or 'package.module:function'.",
    )
    parser.add_argument("spec", nargs="?", help="YAML or JSON file with {experiment name: spec}")
    parser.add_argument("--name", default=None, help="experiment name when the spec comes from flags")
    parser.add_argument("--run", default=None, help="trainable as 'package.module:function'")
    parser.add_argument("--config", type=_json, default=None, help="config as JSON")
    parser.add_argument("--stop", type=_json, default=None, help='stop criteria as JSON, e.g. {"training_iteration": 10}')
    parser.add_argument("--resources", "--trial-resources", type=_json, default=None, help="per-trial resources as JSON")
    parser.add_argument("--num-samples", "--repeat", type=int, default=None,
                        help="trials per point of the search space (default 1)")
    parser.add_argument("--local-dir", default=None, help="results root (default ~/tune_results)")
    parser.add_argument("--checkpoint-freq", type=int, default=None,
                        help="checkpoint every N iterations (class trainables; default 0, never)")
    parser.add_argument("--max-failures", type=int, default=None,
                        help="restarts of a failed trial from its latest checkpoint (default 0)")
    parser.add_argument("--restore", default=None, help="checkpoint path every trial starts from")
    parser.add_argument("--scheduler", default=None, help="scheduler name, e.g. fifo, median-stopping")
    parser.add_argument("--scheduler-config", type=_json, default=None, help="scheduler arguments as JSON")
    parser.add_argument("--search-alg", default=None, help="search algorithm name (default: basic)")
    parser.add_argument("--search-alg-config", type=_json, default=None, help="search algorithm arguments as JSON")
    parser.add_argument("--executor", default=None, help="executor name (default: local)")
    parser.add_argument("--executor-config", type=_json, default=None, help='e.g. {"num_cpus": 4}')
    parser.add_argument("--metric", default=None, help="objective to report the best config by")
    parser.add_argument("--mode", choices=("min", "max"), default=None)
    parser.add_argument("--server", action="store_true",
                        help="serve the Client API while the run goes (needs the tune-server plugin)")
    parser.add_argument("--server-port", type=int, default=4321, help="the Client API's port (default 4321)")
    parser.add_argument("--no-plugins", action="store_true", help="load only the built-in plugins")
    parser.add_argument("-v", "--verbose", type=int, default=1, help="0 quiet, 1 status, 2 per-trial lines")
    parser.set_defaults(func=_main)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc


_OVERRIDES = {
    "config": "config", "stop": "stop", "resources": "resources", "num_samples": "num_samples",
    "local_dir": "local_dir", "checkpoint_freq": "checkpoint_freq", "max_failures": "max_failures",
    "restore": "restore",
}


def _experiments(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The experiments to run, and the run's options: the spec file's, each replaced by its flag if given."""
    from tune_core.experiment import RUN_FILE_OPTIONS, load_run_file

    options: dict[str, Any] = {}
    if args.spec:
        experiments, options = load_run_file(args.spec)
    elif args.run:
        experiments = {args.name or args.run.rpartition(":")[2]: {"run": args.run}}
    else:
        raise TuneError("give a spec file (tune-core run spec.yaml) or a trainable (--run module:function)")
    for spec in experiments.values():
        if not isinstance(spec, dict):
            continue
        for attr, key in _OVERRIDES.items():
            value = getattr(args, attr)
            if value is not None:
                spec[key] = value
    for key in ("scheduler", "search_alg", "executor"):  # The file's arguments were for the file's choice.
        given = getattr(args, key)
        if given is not None and given != options.get(key):
            options.pop(f"{key}_config", None)
    for key in RUN_FILE_OPTIONS:
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    return experiments, options


def _main(args: argparse.Namespace) -> int:
    from tune_core.api import run_experiments
    from tune_core.trial import ERROR

    sys.path.insert(0, "")  # Like `python -m`: trainables in the current directory are importable.
    if args.no_plugins:
        import os

        from tune_core.plugins.manager import get_plugin_manager

        os.environ["TUNE_NO_PLUGINS"] = "1"
        get_plugin_manager.cache_clear()
    experiments, options = _experiments(args)
    trials = run_experiments(experiments, verbose=args.verbose, raise_on_failed_trial=False,
                             with_server=args.server, server_port=args.server_port, **options)
    failed = [t for t in trials if t.status == ERROR]
    metric, mode = options.get("metric"), options.get("mode")
    if metric:
        scored = [t for t in trials if t.last_result and metric in t.last_result]
        if scored:
            pick = max if mode != "min" else min
            side = 1 if mode != "min" else 0  # metric_analysis holds [min, max]
            best = pick(scored, key=lambda t: t.metric_analysis[metric][side])
            print(f"Best trial: {best.name} ({metric}={_fmt(best.metric_analysis[metric][side])})")
            print(f"Best config: {json.dumps(best.config, default=str, sort_keys=True)}")
    print(f"{len(trials) - len(failed)} of {len(trials)} trials completed"
          + (f"; {len(failed)} ended in ERROR (see their error_*.txt)" if failed else ""))
    return 1 if failed else 0


def _fmt(value: Any) -> str:
    """A best value as a person reads it: 6 significant digits, whole numbers in full."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return str(value)
