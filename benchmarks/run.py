"""Orchestration-overhead benchmarks W1-W4 (BENCHMARKS.md): tune-core beside the plain-Python floor.

Every run is a fresh subprocess; floor and tune-core runs alternate so noise hits both alike; figures
are medians of ``--repeat`` runs, printed with their ratio to the floor measured in the same run and the
target. Usage::

    python benchmarks/run.py [--only W1,W2,W3,W4,MEM] [--repeat 3] [--json out.json]
                             [--systems floor,tune-core] [--check]

With ``--systems ...,tune-ray,ray-tune[,ray-tune-reuse]`` (ray and ``ray[tune]`` installed) a second
table puts tune-core's Ray executor beside Ray Tune on the same local Ray, every figure with its ratio
to Ray Tune's from the same run; ``ray-tune-reuse`` is Ray Tune with ``reuse_actors=True``, W2 only.
Ray Tune's W2 may run fewer trials (``--w2-trials``): its trials/s takes minutes to measure at 500.

MEM is the peak memory of the whole process tree during W1, in separate runs (sampling costs CPU, so
it never overlaps a throughput figure). The figure is the tree's summed PSS (proportional set size:
each shared page is split among the processes that map it, so forked workers are not counted twice),
read from ``/proc/<pid>/smaps_rollup`` about every 20 ms; summed RSS and USS are recorded beside it.
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import W4_IDEAL_S, WORKLOADS  # noqa: E402 (needs the path above)

MB = 1e6


@dataclass(frozen=True)
class System:
    """The child script that runs one system, its extra arguments, and the figures it takes part in."""

    script: str
    args: tuple[str, ...] = ()
    figures: frozenset[str] | None = None  # None: all of them
    ray_tune: bool = False  # Ray Tune itself: ``--w2-trials`` applies

    def trials(self, workload: str, w2_trials: int | None) -> int:
        """How many trials this system runs of ``workload``: Ray Tune's W2 may run fewer."""
        if self.ray_tune and workload == "W2" and w2_trials:
            return w2_trials
        return WORKLOADS[workload].trials

    def command(self, workload: str, out_dir: Path, w2_trials: int | None) -> list[str]:
        trials = self.trials(workload, w2_trials)
        fewer = ("--trials", str(trials)) if trials != WORKLOADS[workload].trials else ()
        return [sys.executable, str(HERE / self.script), workload, str(out_dir), *self.args, *fewer]


SYSTEMS = {
    "floor": System("floor.py"),
    "tune-core": System("tune_child.py"),
    "tune-ray": System("tune_child.py", ("ray",)),
    "ray-tune": System("ray_tune_child.py", ray_tune=True),
    "ray-tune-reuse": System("ray_tune_child.py", ("--reuse-actors",), frozenset({"W2"}), ray_tune=True),
}
#: The systems that need ray, and the second table's columns (tune-ray beside Ray Tune) in order.
RAY_SYSTEMS = ("tune-ray", "ray-tune", "ray-tune-reuse")
RAY_COLUMNS = (*RAY_SYSTEMS, "tune-core", "floor")


@dataclass(frozen=True)
class Figure:
    """How one benchmark turns a run into its figure, and the target tune-core must meet."""

    id: str
    label: str
    workload: str
    value: Callable[[dict[str, Any]], float]
    target: str
    met: Callable[[float, float], bool]  # (tune-core figure, floor figure) -> target met
    higher_is_better: bool = True
    fmt: str = "{:,.0f}"


FIGURES = {
    "W1": Figure("W1", "results/s (run)", "W1", lambda r: 10_000 / r["run_s"], ">= 40% of floor",
                 lambda t, f: t >= 0.4 * f),
    "W2": Figure("W2", "trials/s (run)", "W2", lambda r: r["results"] / r["run_s"], ">= 1,000",
                 lambda t, f: t >= 1000),
    "W3": Figure("W3", "process s", "W3", lambda r: r["process_s"], "< 0.6 s",
                 lambda t, f: t < 0.6, higher_is_better=False, fmt="{:.3f}"),
    "W4": Figure("W4", "efficiency (8 s / run)", "W4", lambda r: W4_IDEAL_S / r["run_s"], ">= 0.97",
                 lambda t, f: t >= 0.97, fmt="{:.3f}"),
    "MEM": Figure("MEM", "W1 peak PSS, MB (tree)", "W1", lambda r: r["peak_pss"] / MB, "< 250 MB",
                  lambda t, f: t < 250, higher_is_better=False, fmt="{:.1f}"),
}


@dataclass
class Samples:
    """All runs of one figure for one system."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# --- process-tree memory -----------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` via /proc/<pid>/task/*/children (cheap: no scan of all of /proc)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _rollup(pid: int) -> tuple[int, int, int]:
    """(PSS, RSS, USS) in bytes for one process, or zeros if it is gone."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Pss", "Rss", "Private_Clean", "Private_Dirty"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError):
        return 0, 0, 0
    return values.get("Pss", 0), values.get("Rss", 0), values.get("Private_Clean", 0) + values.get(
        "Private_Dirty", 0
    )


def _fallback_tree_memory(pid: int) -> tuple[int, int, int, int]:
    """psutil for systems without smaps_rollup or /proc/.../children (slower: scans all processes)."""
    import psutil

    pss = rss = uss = 0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0, 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        pss, rss, uss = pss + getattr(info, "pss", info.rss), rss + info.rss, uss + info.uss
    return pss, rss, uss, len(procs)


def tree_memory(pid: int) -> tuple[int, int, int, int]:
    """Summed (PSS, RSS, USS, process count) over ``pid`` and all its descendants."""
    if not os.path.exists(f"/proc/{pid}/smaps_rollup") or not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        return _fallback_tree_memory(pid)
    pids = _tree(pid)
    pss = rss = uss = 0
    for p in pids:
        a, b, c = _rollup(p)
        pss, rss, uss = pss + a, rss + b, uss + c
    return pss, rss, uss, len(pids)


# --- one fresh-process run -----------------------------------------------------------------------
_TO_DELETE: list[Path] = []


@atexit.register
def _delete_outputs() -> None:
    for path in _TO_DELETE:
        shutil.rmtree(path, ignore_errors=True)

def run_once(system: str, workload: str, sample_memory: float | None, base: Path | None = None,
             w2_trials: int | None = None) -> dict[str, Any]:
    """Start ``system``'s script for ``workload`` in a fresh interpreter; return its figures.

    ``process_s`` is wall time from just before the interpreter starts to just after it exits.
    ``w2_trials``: W2's trial count for Ray Tune's systems, when not the workload's.
    """
    out_dir = Path(tempfile.mkdtemp(prefix=f"tune-bench-{workload}-", dir=base))
    peak = {"peak_pss": 0, "peak_rss": 0, "peak_uss": 0, "max_procs": 0, "samples": 0}
    # The working tree's tune_core, also when it is not installed.
    paths = [str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    with tempfile.TemporaryFile(mode="w+") as stdout, tempfile.TemporaryFile(mode="w+") as stderr:
        try:
            started = time.perf_counter()
            proc = subprocess.Popen(
                SYSTEMS[system].command(workload, out_dir, w2_trials),
                stdout=stdout, stderr=stderr, cwd=HERE.parent, env=env,
            )
            if sample_memory:
                while proc.poll() is None:
                    pss, rss, uss, count = tree_memory(proc.pid)
                    peak["peak_pss"] = max(peak["peak_pss"], pss)
                    peak["peak_rss"] = max(peak["peak_rss"], rss)
                    peak["peak_uss"] = max(peak["peak_uss"], uss)
                    peak["max_procs"] = max(peak["max_procs"], count)
                    peak["samples"] += 1
                    time.sleep(sample_memory)
            code = proc.wait()
            process_s = time.perf_counter() - started
        finally:
            # Deleted at the end of the whole benchmark, not now: on disks mounted with `discard`,
            # freeing thousands of files slows every file operation of the next run for a while.
            _TO_DELETE.append(out_dir)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if code != 0:
        tail = "\n".join((err or out).strip().splitlines()[-6:])
        raise RuntimeError(f"{system} {workload} exited {code}:\n{tail}")
    result = _last_json(out)
    expected = WORKLOADS[workload].results * SYSTEMS[system].trials(workload, w2_trials)
    if result.get("results") != expected:
        raise RuntimeError(f"{system} {workload}: {result.get('results')} results logged, expected {expected}")
    result["process_s"] = process_s
    if sample_memory:
        result.update(peak)
    return result


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise RuntimeError(f"no JSON result line in output:\n{text[-500:]}")


# --- the run and its report ----------------------------------------------------------------------
def measure(
    only: list[str], systems: list[str], repeat: int, interval: float, base: Path | None = None,
    w2_trials: int | None = None,
) -> dict[str, dict[str, Samples]]:
    """Run each figure ``repeat`` times per system, alternating systems; collect runs and errors."""
    table: dict[str, dict[str, Samples]] = {fid: {s: Samples() for s in systems} for fid in only}
    for fid in only:
        figure = FIGURES[fid]
        for attempt in range(repeat):
            for system in systems:
                samples = table[fid][system]
                takes_part = SYSTEMS[system].figures is None or fid in SYSTEMS[system].figures
                if samples.errors or not takes_part:  # a system that failed once is not retried
                    continue
                try:
                    run = run_once(system, figure.workload, interval if fid == "MEM" else None, base,
                                   w2_trials)
                except RuntimeError as exc:
                    samples.errors.append(str(exc))
                    print(f"  {fid} {system}: FAILED\n    " + str(exc).replace("\n", "\n    "), flush=True)
                    continue
                run["figure"] = figure.value(run)
                samples.runs.append(run)
                print(f"  {fid} {system} run {attempt + 1}/{repeat}: {figure.fmt.format(run['figure'])} "
                      f"{figure.label}", flush=True)
    return table


def report(table: dict[str, dict[str, Samples]]) -> tuple[str, list[dict[str, Any]], bool]:
    """The summary table, its rows as data, and whether every tune-core target was met."""
    header = f"{'id':<4} {'figure':<24} {'tune-core':>11} {'floor':>11} {'ratio':>8}  {'target':<16} met"
    lines = [header, "-" * len(header)]
    rows: list[dict[str, Any]] = []
    all_met = True
    for fid, by_system in table.items():
        figure = FIGURES[fid]
        medians = {s: statistics.median(r["figure"] for r in v.runs) if v.runs else None
                   for s, v in by_system.items()}
        tune, floor = medians.get("tune-core"), medians.get("floor")
        ratio = met = None
        if tune is not None and floor:
            ratio = tune / floor
        if tune is not None:
            met = figure.met(tune, floor or 0.0)
            all_met &= met
        elif "tune-core" in by_system:
            all_met = False

        ratio_text = "-" if ratio is None else (f"{ratio:.1%}" if figure.higher_is_better and fid != "W4"
                                               else f"{ratio:.2f}x")
        met_text = "-" if met is None else ("yes" if met else "NO")
        lines.append(f"{fid:<4} {figure.label:<24} {_cell(figure, tune, by_system.get('tune-core')):>11} "
                     f"{_cell(figure, floor, by_system.get('floor')):>11} "
                     f"{ratio_text:>8}  {figure.target:<16} {met_text}")
        rows.append({"id": fid, "figure": figure.label, "tune_core": tune, "floor": floor, "ratio": ratio,
                     "target": figure.target, "met": met,
                     "runs": {s: v.runs for s, v in by_system.items()},
                     "errors": {s: v.errors for s, v in by_system.items() if v.errors}})
    return "\n".join(lines), rows, all_met


#: tune-ray's targets (BENCHMARKS.md): ten times Ray Tune's figure on W1 and W2, at least its figure on
#: the others (for W3 and MEM, where lower is better: at most its figure).
RAY_TARGETS = {"W1": 10.0, "W2": 10.0, "W3": 1.0, "W4": 1.0, "MEM": 1.0}


def _median(samples: Samples | None) -> float | None:
    return statistics.median(r["figure"] for r in samples.runs) if samples and samples.runs else None


def _ray_target(figure: Figure) -> tuple[str, Callable[[float, float], bool]]:
    """tune-ray's target for ``figure`` as text, and the test of (tune-ray, Ray Tune) medians."""
    factor = RAY_TARGETS[figure.id]
    if not figure.higher_is_better:
        return "<= Ray Tune", lambda mine, theirs: mine <= theirs
    text = f">= {factor:g}x Ray Tune" if factor != 1 else ">= Ray Tune"
    return text, lambda mine, theirs: mine >= factor * theirs


def _ratio_cell(figure: Figure, value: float | None, samples: Samples | None, reference: float | None,
                *, show_ratio: bool = True) -> str:
    """A median with its ratio to Ray Tune's, e.g. ``21,693 (120x)``; figures under 10 (Ray Tune's W2
    trials/s) with two decimals."""
    if value is None:
        return _cell(figure, value, samples)
    text = f"{value:.2f}" if figure.fmt == "{:,.0f}" and value < 10 else figure.fmt.format(value)
    if not show_ratio or not reference:
        return text
    ratio = value / reference
    return f"{text} ({ratio:,.0f}x)" if ratio >= 10 else f"{text} ({ratio:.2f}x)"


def ray_report(table: dict[str, dict[str, Samples]]) -> tuple[str, list[dict[str, Any]], bool]:
    """The Ray table: each system beside Ray Tune (its default), and whether tune-ray met its targets."""
    columns = [c for c in RAY_COLUMNS if any(c in by_system for by_system in table.values())]
    header = f"{'id':<4} {'figure':<24} " + " ".join(f"{c:>22}" for c in columns) + f"  {'tune-ray target':<18} met"
    lines = [header, "-" * len(header)]
    rows: list[dict[str, Any]] = []
    all_met = True
    for fid, by_system in table.items():
        figure = FIGURES[fid]
        medians = {c: _median(by_system.get(c)) for c in columns}
        reference = medians.get("ray-tune")
        target, test = _ray_target(figure)
        mine = medians.get("tune-ray")
        met = test(mine, reference) if mine is not None and reference else None
        all_met &= met is not False and not ("tune-ray" in by_system and mine is None)
        cells = " ".join(f"{_ratio_cell(figure, medians[c], by_system.get(c), reference, show_ratio=c != 'ray-tune'):>22}"
                         for c in columns)
        met_text = "-" if met is None else ("yes" if met else "NO")
        lines.append(f"{fid:<4} {figure.label:<24} {cells}  {target:<18} {met_text}")
        rows.append({"id": fid, "figure": figure.label, "medians": medians, "target": target, "met": met,
                     "ratios": {c: v / reference for c, v in medians.items() if v is not None and reference}})
    return "\n".join(lines), rows, all_met


def _cell(figure: Figure, value: float | None, samples: Samples | None) -> str:
    """A median formatted for the table; FAILED when the system's runs failed, '-' when not run."""
    if value is not None:
        return figure.fmt.format(value)
    return "FAILED" if samples is not None and samples.errors else "-"


def environment() -> dict[str, Any]:
    """Where the figures came from: enough to tell two machines apart."""
    sys.path.insert(1, str(HERE.parent))  # the working tree's version, as the children see it
    try:
        import tune_core

        version = getattr(tune_core, "__version__", "?")
    except Exception as exc:  # a broken tree still gets its floor measured
        version = f"unavailable ({type(exc).__name__})"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                            text=True).stdout.strip()
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "tune_core": version, "commit": commit or None, "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def disk_probe(base: Path | None, count: int = 200) -> float:
    """Microseconds to create one directory or small file where the runs write.

    W2 makes a directory and three files per trial, so on a disk where this is a few hundred
    microseconds (a busy disk, or one still discarding blocks freed a moment ago) it bounds W2.
    """
    probe = Path(tempfile.mkdtemp(prefix="tune-bench-disk-", dir=base))
    _TO_DELETE.append(probe)
    started = time.perf_counter()
    for i in range(count):
        directory = probe / str(i)
        directory.mkdir()
        (directory / "f").write_bytes(b"{}\n")
    return (time.perf_counter() - started) / (2 * count) * 1e6


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print the table; exit 1 when a run failed (or, with --check, a target)."""
    parser = argparse.ArgumentParser(description="tune-core orchestration benchmarks W1-W4 vs the floor")
    parser.add_argument("--only", default="W1,W2,W3,W4,MEM", help="comma-separated ids (W1,W2,W3,W4,MEM)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs per figure and system")
    parser.add_argument("--systems", default="floor,tune-core", help="floor, tune-core or both")
    parser.add_argument("--interval", type=float, default=0.02, help="memory sampling period, seconds")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where runs write their results (default: the system temp dir); deleted after")
    parser.add_argument("--json", type=Path, help="write the environment, every run and the table here")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if tune-core (or, beside Ray Tune, tune-ray) misses a target")
    parser.add_argument("--w2-trials", type=int, default=None,
                        help="W2's trials for Ray Tune's systems (default 500, as the others; ~0.7 trials/s)")
    args = parser.parse_args(argv)
    only = [f.strip().upper() for f in args.only.split(",") if f.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [f for f in only if f not in FIGURES] + [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; ids: {', '.join(FIGURES)}; systems: {', '.join(SYSTEMS)}")

    # The runs import the working tree's tune_core; compile it now, as installing it would, so that
    # no run spends its start compiling (PYTHONDONTWRITEBYTECODE would make every run do so).
    compileall.compile_dir(HERE.parent / "tune_core", quiet=1)
    env = environment()
    if set(systems) & set(RAY_SYSTEMS):
        env["ray"] = _version("ray")
    print(f"tune-core {env['tune_core']} ({env['commit']}), Python {env['python']}, {env['cpus']} CPUs; "
          f"medians of {args.repeat} fresh processes per figure")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    env["disk_us_per_create"] = round(disk_probe(args.dir), 1)
    print(f"disk: {env['disk_us_per_create']:.0f} us per directory or file created in "
          f"{args.dir or tempfile.gettempdir()} (W2 makes 4 per trial)")
    table = measure(only, systems, args.repeat, args.interval, args.dir, args.w2_trials)
    text, rows, all_met = report(table)
    print()
    print(text)
    print("\nratio = tune-core / floor, both measured in this run. MEM = peak summed PSS of the process "
          "tree (RSS and USS in --json).")
    result: dict[str, Any] = {"environment": env, "rows": rows}
    if set(systems) & set(RAY_SYSTEMS):
        ray_text, result["ray_rows"], ray_met = ray_report(table)
        all_met &= ray_met
        print()
        print(ray_text)
        print(_ray_notes(env, args.w2_trials if "W2" in only else None))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    failed = any(row["errors"] for row in rows)
    return 1 if failed or (args.check and not all_met) else 0


def _ray_notes(env: dict[str, Any], w2_trials: int | None) -> str:
    """What the Ray table's figures mean, and how many trials Ray Tune's W2 ran (when fewer)."""
    notes = (f"\n(x) = ratio to Ray Tune's figure (defaults, reuse_actors off) measured in this run; for W3 "
             f"and MEM lower is better.\nRay {env.get('ray', '?')} on a local Ray of 2 CPUs started before "
             f"the timed call (W3: in the timed process). ray-tune-reuse = reuse_actors=True, W2 only.")
    if w2_trials:
        notes += (f"\nW2: Ray Tune's systems ran {w2_trials} trials (--w2-trials), the others "
                  f"{WORKLOADS['W2'].trials}; trials/s compared as is.")
    return notes


if __name__ == "__main__":
    raise SystemExit(main())
