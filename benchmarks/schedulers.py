"""Scheduler cost (figure S1): real seconds per scheduling decision and peak memory, per scheduler.

Each installed scheduler (looked up by name: fifo, median-stopping, and hyperband, asha, pbt when
their plugins are installed) runs 10,000 simulated trials on 1,000 virtual workers
(``tune_core.testing.simulate``: the real runner and scheduler, synthetic learning curves, a virtual
clock, no loggers), each in a fresh interpreter. A decision is a call of ``on_trial_result`` or
``choose_trial_to_run``; seconds per decision counts the time of every scheduler method. Peak memory
is the child's peak RSS (``getrusage``) and the peak summed PSS of its process tree, sampled every
20 ms the way ``run.py`` measures MEM (``run.tree_memory``). Usage::

    python benchmarks/schedulers.py [--quick] [--only fifo,asha] [--trials N] [--workers N]
                                    [--max-t N] [--dir PATH] [--json FILE]

``--quick``: 1,000 trials on 100 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import tree_memory  # noqa: E402 (needs the path above)

SCHEDULERS = ("fifo", "median-stopping", "hyperband", "asha", "pbt")
MB = 1e6


def configs(name: str, max_t: int) -> list[dict[str, Any]]:
    """Arguments to try for ``name``, in order (the plugins' options may still change: the last is
    always the scheduler's defaults)."""
    by_name: dict[str, dict[str, Any]] = {
        "median-stopping": {"time_attr": "training_iteration", "grace_period": 5},
        "hyperband": {"time_attr": "training_iteration", "max_t": max_t},
        "asha": {"time_attr": "training_iteration", "max_t": max_t, "grace_period": 3},
        "pbt": {"time_attr": "training_iteration", "perturbation_interval": 5, "seed": 0,
                "hyperparam_mutations": {"rate": [0.02, 0.05, 0.1, 0.2, 0.4]}, "log_config": False},
    }
    return [by_name[name], {}] if name in by_name else [{}]


def child(name: str, trials: int, workers: int, max_t: int, directory: str) -> dict[str, Any]:
    """One scheduler's run, in this process; returns its figures."""
    from tune_core.plugins import registry
    from tune_core.testing import simulate

    errors = []
    for config in configs(name, max_t):
        try:
            scheduler = registry.build("scheduler", name, **config)
            break
        except Exception as exc:
            errors.append(f"{config}: {type(exc).__name__}: {exc}")
    else:
        raise SystemExit(f"could not build {name!r}: " + "; ".join(errors))
    result = simulate(scheduler, num_trials=trials, workers=workers, max_t=max_t, local_dir=directory)
    statuses = result.by_status()
    full = sum(1 for t in result.trials if (t.last_result or {}).get("training_iteration") == max_t)
    return {
        "scheduler": name,
        "config": config,
        "trials": trials,
        "workers": workers,
        "max_t": max_t,
        "real_s": result.real_time_s,
        "virtual_s": result.virtual_time_s,
        "results": result.results,
        "decisions": result.decisions,
        "scheduler_s": sum(result.scheduler_seconds.values()),
        "s_per_decision": result.seconds_per_decision,
        "ran_to_max_t": full,
        "statuses": statuses,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def measure(name: str, args: argparse.Namespace, base: Path | None) -> dict[str, Any]:
    """Run ``name`` in a fresh interpreter, sampling its memory; return its figures."""
    out_dir = tempfile.mkdtemp(prefix=f"tune-s1-{name}-", dir=base)
    paths = [str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--trials", str(args.trials),
               "--workers", str(args.workers), "--max-t", str(args.max_t), "--dir", out_dir]
    peak_pss = peak_rss = 0
    try:
        with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=HERE.parent, env=env)
            deadline = time.monotonic() + args.timeout
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    return {"scheduler": name, "error": f"timed out after {args.timeout} s"}
                pss, rss, _, _ = tree_memory(proc.pid)
                peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
                time.sleep(0.02)
            out.seek(0)
            err.seek(0)
            text, errors = out.read(), err.read()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    if proc.returncode != 0:
        return {"scheduler": name, "error": "\n".join((errors or text).strip().splitlines()[-4:])}
    figures: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    figures.update(peak_pss=peak_pss, peak_rss_sampled=peak_rss)
    return figures


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'scheduler':<16} {'real s':>7} {'virtual s':>10} {'results':>9} {'decisions':>10} "
            f"{'us/decision':>12} {'sched %':>8} {'peak RSS MB':>12} {'peak PSS MB':>12}  to max_t")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['scheduler']:<16} failed: {r['error']}")
            continue
        lines.append(
            f"{r['scheduler']:<16} {r['real_s']:>7.2f} {r['virtual_s']:>10,.0f} {r['results']:>9,} "
            f"{r['decisions']:>10,} {r['s_per_decision'] * 1e6:>12.1f} {100 * r['scheduler_s'] / r['real_s']:>7.1f}% "
            f"{r['maxrss'] / MB:>12.1f} {r['peak_pss'] / MB:>12.1f}  {r['ran_to_max_t']:,}/{r['trials']:,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 trials on 100 workers")
    parser.add_argument("--only", help="comma-separated scheduler names")
    parser.add_argument("--trials", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--max-t", type=int, default=30, help="iterations per trial (default 30)")
    parser.add_argument("--dir", type=Path, help="where the trial directories go (default: the temp dir)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per scheduler")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.trials = args.trials or (1_000 if args.quick else 10_000)
    args.workers = args.workers or (100 if args.quick else 1_000)
    if args.child:
        print(json.dumps(child(args.child, args.trials, args.workers, args.max_t, str(args.dir))))
        return 0
    from tune_core.plugins import registry

    installed = registry.available("scheduler")
    wanted = args.only.split(",") if args.only else list(SCHEDULERS)
    missing = [name for name in wanted if name not in installed]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    print(f"S1: {args.trials:,} simulated trials on {args.workers:,} virtual workers, up to {args.max_t} "
          f"iterations each, no loggers, one fresh process per scheduler")
    rows = []
    for name in wanted:
        if name in installed:
            rows.append(measure(name, args, args.dir))
            print(f"  {name}: " + (rows[-1].get("error") or f"{rows[-1]['real_s']:.2f} s"), flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
