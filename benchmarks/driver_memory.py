"""Driver memory per finished trial (S2): W2 x 10, i.e. 5,000 trials of 1 result each, in one run.

One fresh driver process runs a single ``run_experiments`` call of ``--trials`` trials (W2's function
trainable ``f(config, reporter): reporter(mean_accuracy=1)``, a grid over an integer, FIFO, default
loggers, 1 CPU each on 2 CPUs). An observer plugin (``tune_on_trial_complete``) measures the driver's
own memory when a tenth of the trials and when all of them have finished: ``gc.collect()``, then USS
(private pages) from ``psutil``'s ``memory_full_info()``. The runner's trial list is alive at both
points, as the returned list would be. The figure::

    KB per finished trial = (USS at N - USS at N/10) / (0.9 N)        target: under 10 KB

Printed beside it: the same after ``run_experiments`` returns (trial list kept), the Python-level
growth (``sys.getallocatedblocks``, gc-tracked objects), ``len(pickle.dumps(trial))`` of one
finished trial, and that trial's own in-memory bytes (objects reachable from it and not from another
trial) per attribute: what a finished trial costs and which attribute holds it. Usage::

    python benchmarks/driver_memory.py [--trials 5000] [--json out.json] [--metrics 1] [--trace]

``--metrics K`` makes each result carry K metrics instead of W2's one (how the summary scales with
the width of a result).

``--trace`` also runs tracemalloc (slower) and prints the allocation sites that grew between the
two points.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
from ctypes import CDLL, Structure, c_size_t
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import CPUS  # noqa: E402 (needs the path above)

KB = 1024
TARGET_KB = 10.0
EXPERIMENT = "driver_memory"


# --- measuring -------------------------------------------------------------------------------------
class _MallInfo2(Structure):
    _fields_ = [(name, c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                              "fsmblks", "uordblks", "fordblks", "keepcost")]


def live_heap() -> int | None:
    """Bytes in live allocations, whatever the allocator keeps besides: pymalloc's allocated blocks
    (objects up to 512 bytes, from ``sys._debugmallocstats``) plus glibc malloc's in-use bytes over
    all arenas (``mallinfo2``). ``None`` where either is unavailable (not glibc >= 2.33)."""
    try:
        mallinfo2 = CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    with tempfile.TemporaryFile() as tmp:  # _debugmallocstats writes to fd 2
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        found = re.search(rb"# bytes in allocated blocks\s*=\s*([\d,]+)", tmp.read())
    if found is None:
        return None
    info = mallinfo2()
    return int(found.group(1).replace(b",", b"")) + info.uordblks + info.hblkhd


def measure() -> dict[str, Any]:
    """The driver's memory now, after a full collection."""
    import psutil

    gc.collect()
    info = psutil.Process().memory_full_info()
    return {"uss": info.uss, "rss": info.rss, "pss": getattr(info, "pss", 0), "heap": live_heap(),
            "blocks": sys.getallocatedblocks(), "gc_objects": len(gc.get_objects())}


def wait_quiet(poll_s: float = 0.05, quiet_s: float = 0.5, limit_s: float = 30.0) -> float:
    """Wait (the runner is blocked in our hook) until the driver's other threads stop allocating:
    the Python block count moves by less than 100 for ``quiet_s``. The log writer's backlog (queued
    log calls, experiment-state snapshots) is then written and freed. Returns the seconds waited."""
    started = time.perf_counter()
    last, since = sys.getallocatedblocks(), time.perf_counter()
    while time.perf_counter() - started < limit_s:
        time.sleep(poll_s)
        now = sys.getallocatedblocks()
        if abs(now - last) >= 100:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= quiet_s:
            break
    return time.perf_counter() - started


def _reachable(root: Any) -> dict[int, int]:
    """``id -> sys.getsizeof`` of every object reachable from ``root`` (classes, modules, functions
    excluded: they are shared by every trial)."""
    seen: dict[int, int] = {}
    todo = [root]
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen[id(obj)] = sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
        if isinstance(obj, dict):  # a dict whose keys are all str does not report them as referents
            todo.extend(obj.keys())
    return seen


def own_bytes(trial: Any, other: Any) -> tuple[int, dict[str, int]]:
    """Bytes reachable from ``trial`` and not from ``other`` (another trial): its own cost, in total
    and per attribute."""
    shared = _reachable(other)
    mine = {k: v for k, v in _reachable(trial).items() if k not in shared}
    per_attr: dict[str, int] = {}
    counted: set[int] = set()
    attrs = vars(trial) if hasattr(trial, "__dict__") else {  # a slotted dataclass
        f.name: getattr(trial, f.name) for f in dataclasses.fields(trial)}
    for name, value in attrs.items():
        ids = [i for i in _reachable(value) if i in mine and i not in counted]
        counted.update(ids)
        if ids:
            per_attr[name] = sum(mine[i] for i in ids)
    return sum(mine.values()), dict(sorted(per_attr.items(), key=lambda kv: -kv[1]))


class MemoryProbe:
    """An observer plugin: measures the driver when ``marks`` trials have finished."""

    def __init__(self, marks: list[int], trace: bool):
        self.marks = set(marks)
        self.finished = 0
        self.samples: dict[int, dict[str, Any]] = {}
        self.busy: dict[int, dict[str, Any]] = {}
        self.snapshots: dict[int, Any] = {}
        self.trace = trace
        #: seconds the runner spent blocked in this hook (measuring, waiting): not the run's own time
        self.spent_s = 0.0

    def tune_on_trial_complete(self, trial: Any) -> None:
        self.finished += 1
        if self.finished in self.marks:
            started = time.perf_counter()
            self.busy[self.finished] = measure()
            waited = wait_quiet()
            self.samples[self.finished] = {**measure(), "waited_s": waited}
            if self.trace:
                import tracemalloc

                self.snapshots[self.finished] = tracemalloc.take_snapshot()
            self.spent_s += time.perf_counter() - started


# --- the child: one driver process -----------------------------------------------------------------
def child(trials: int, local_dir: Path, trace: bool, metrics: int = 1) -> dict[str, Any]:
    import pickle

    if trace:
        import tracemalloc

        tracemalloc.start(6)
    import tune_core as tune
    from tune_core.plugins import hookimpl
    from tune_core.plugins.manager import get_plugin_manager

    early = max(1, trials // 10)
    hookimpl(MemoryProbe.tune_on_trial_complete)  # marks the method; imported here, not by the harness
    probe = MemoryProbe([early, trials], trace)
    get_plugin_manager().register(probe, name="driver-memory-probe")

    extra = {f"metric_{k}": 0.5 + k for k in range(1, metrics)}  # --metrics > 1: a wider result

    def trainable(config: dict[str, Any], reporter: Any) -> None:
        reporter(mean_accuracy=1, **extra)

    before = measure()
    started = time.perf_counter()
    result = tune.run_experiments(
        {EXPERIMENT: {
            "run": trainable,
            "config": {"i": tune.grid_search(list(range(trials)))},
            "resources": {"cpu": 1},
            "local_dir": str(local_dir),
        }},
        scheduler="fifo", executor="local", executor_config={"num_cpus": CPUS, "num_gpus": 0}, verbose=0,
    )
    run_s = time.perf_counter() - started - probe.spent_s
    after = measure()  # ``result`` (the trial list) is alive here, as a user would keep it
    finished = sum(1 for t in result if t.is_finished())
    logged = sum(1 for _ in (local_dir / EXPERIMENT).glob("*/result.json"))
    sample = result[-1]
    total_own, per_attr = own_bytes(sample, result[-2] if len(result) > 1 else object())
    out: dict[str, Any] = {
        "trials": len(result), "metrics": metrics, "finished": finished, "result_files": logged, "run_s": run_s,
        "early": early, "before": before, "at_early": probe.samples.get(early),
        "at_end": probe.samples.get(trials), "after_return": after,
        "at_early_busy": probe.busy.get(early), "at_end_busy": probe.busy.get(trials),
        "pickled_trial_bytes": len(pickle.dumps(sample)), "trial_own_bytes": total_own,
        "trial_own_bytes_by_attr": per_attr,
    }
    if trace and early in probe.snapshots and trials in probe.snapshots:
        diff = probe.snapshots[trials].compare_to(probe.snapshots[early], "traceback")
        out["tracemalloc_top"] = [
            {"size_diff": d.size_diff, "count_diff": d.count_diff,
             "where": [f"{f.filename}:{f.lineno}" for f in d.traceback][-4:]}
            for d in diff[:12]
        ]
    return out


# --- the harness -----------------------------------------------------------------------------------
def per_trial(result: dict[str, Any], end_key: str, field: str, start_key: str = "at_early") -> float | None:
    start, end = result.get(start_key), result.get(end_key)
    if not start or not end:
        return None
    return (end[field] - start[field]) / (result["trials"] - result["early"])


def report(r: dict[str, Any]) -> str:
    n, early = r["trials"], r["early"]
    width = f" of {r['metrics']} metrics" if r.get("metrics", 1) > 1 else ""
    lines = [f"Driver memory: {n:,} trials x 1 result{width} (W2 x {n / 500:g}), FIFO, default loggers, "
             f"{CPUS} CPUs; run {r['run_s']:.1f} s without the probe's pauses"]
    header = f"{'':<34} {'at ' + format(early, ','):>10} {'at ' + format(n, ','):>10} {'returned':>10}"
    lines.append(header)
    for key, label, scale, fmt in (("uss", "USS, MB", 1e6, "{:.1f}"), ("pss", "PSS, MB", 1e6, "{:.1f}"),
                                   ("rss", "RSS, MB", 1e6, "{:.1f}"), ("heap", "live heap, MB", 1e6, "{:.1f}"),
                                   ("blocks", "Python blocks allocated", 1, "{:,.0f}"),
                                   ("gc_objects", "gc-tracked objects", 1, "{:,.0f}")):
        cells = [fmt.format(r[p][key] / scale) if r.get(p) and r[p].get(key) is not None else "-"
                 for p in ("at_early", "at_end", "after_return")]
        lines.append(f"{label:<34} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}")
    growth = per_trial(r, "at_end", "uss")
    lines.append("")
    if growth is not None:
        verdict = "met" if growth / KB < TARGET_KB else "NOT met"
        lines.append(f"USS growth per finished trial ({early:,} -> {n:,}): {growth / KB:.2f} KB "
                     f"(target < {TARGET_KB:g} KB: {verdict})")
    rss, rss_returned = per_trial(r, "at_end", "rss"), per_trial(r, "after_return", "rss")
    if rss is not None:
        lines.append(f"  RSS growth per finished trial, same points: {rss / KB:.2f} KB")
    if rss_returned is not None:
        lines.append(f"  RSS growth per trial, {early:,} -> after run_experiments returned: "
                     f"{rss_returned / KB:.2f} KB (USS is not comparable there: the forked workers "
                     "have exited, so pages they shared with the driver now count as its own)")
    busy = per_trial(r, "at_end_busy", "uss", "at_early_busy")
    if busy is not None:
        waited = max(r[k].get("waited_s", 0.0) for k in ("at_early", "at_end"))
        lines.append(f"  USS growth per trial measured at once, not waiting for the log writer's backlog: "
                     f"{busy / KB:.2f} KB (the waits took up to {waited:.1f} s)")
    if (r.get("at_early") or {}).get("heap") and (r.get("at_end") or {}).get("heap"):
        heap = per_trial(r, "at_end", "heap") or 0.0
        lines.append(f"  live heap growth per trial (allocations alive, without what the allocator keeps "
                     f"after frees): {heap / KB:.2f} KB")
    blocks, objs = per_trial(r, "at_end", "blocks"), per_trial(r, "at_end", "gc_objects")
    if blocks is not None and objs is not None:
        lines.append(f"  Python blocks per trial: {blocks:.1f}; gc-tracked objects per trial: {objs:.1f}")
    lines.append(f"len(pickle.dumps(trial)) of one finished trial: {r['pickled_trial_bytes']:,} bytes")
    lines.append(f"its own objects in memory (not shared with another trial): {r['trial_own_bytes']:,} bytes")
    lines += [f"  {name:<24} {size:>7,}" for name, size in r["trial_own_bytes_by_attr"].items()]
    if r.get("tracemalloc_top"):
        lines.append("tracemalloc, growth between the two points (top sites):")
        for d in r["tracemalloc_top"]:
            lines.append(f"  {d['size_diff'] / KB:>9.1f} KB {d['count_diff']:>8,} blocks  {d['where'][-1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5000, help="finished trials to reach (default 5,000)")
    parser.add_argument("--json", type=Path, default=None, help="write the measurements here")
    parser.add_argument("--metrics", type=int, default=1,
                        help="metrics per result (default 1, W2's mean_accuracy; more: a wider result)")
    parser.add_argument("--trace", action="store_true", help="also run tracemalloc (slower)")
    parser.add_argument("--dir", type=Path, default=None, help="where the run writes (default: temp dir)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.trials < 20:
        parser.error("--trials must be at least 20")

    if args.child:
        print(json.dumps(child(args.trials, args.dir, args.trace, args.metrics)))
        return 0

    out_dir = Path(tempfile.mkdtemp(prefix="tune-bench-driver-mem-", dir=args.dir))
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--trials", str(args.trials),
               "--dir", str(out_dir), "--metrics", str(args.metrics)] + (["--trace"] if args.trace else [])
        paths = [str(HERE.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent, env=env)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    if proc.returncode != 0:
        print(f"driver exited {proc.returncode}:\n{(proc.stderr or proc.stdout)[-2000:]}", file=sys.stderr)
        return 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    problems = []
    if result["finished"] != args.trials or result["result_files"] != args.trials:
        problems.append(f"{result['finished']} trials finished and {result['result_files']} result files, "
                        f"expected {args.trials}")
    if not result.get("at_early") or not result.get("at_end"):
        problems.append("the observer did not measure at both points")
    print(report(result))
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({
            "environment": {"python": platform.python_version(), "machine": platform.machine(),
                            "cpus": os.cpu_count(), "platform": platform.platform()},
            "result": result,
            "kb_per_trial": (per_trial(result, "at_end", "uss") or 0) / KB,
            "target_kb": TARGET_KB,
        }, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
