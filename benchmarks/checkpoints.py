"""Checkpoint overhead: W1's 20 trials, a class trainable holding a 10 MB state, ``checkpoint_freq=1``.

Each repeat runs three fresh subprocesses, in this order:

- tune-core with ``checkpoint_freq=1``;
- the floor: plain Python writing the same number of 10 MB files from 2 processes
  (``open``/``write``/``close`` to a temporary name, then ``os.replace``), nothing else;
- tune-core without checkpoints, otherwise identical.

The figure is the wall time a checkpoint adds to the run, ``(run with - run without) / checkpoints``
(two trials write at once, as two floor processes do), beside the floor's wall seconds per file. Also
printed: the time one save adds inside its own trial (from the results' ``time_this_iter_s``, which
includes the save; the floor's counterpart is a writer's own seconds per file). Figures are medians
of ``--repeat`` runs. Usage::

    python benchmarks/checkpoints.py [--iterations 20] [--size-mb 10] [--repeat 3] [--json out.json]

Every run's files stay on disk until the whole benchmark ends (freeing many files slows the next run
on disks mounted with ``discard``); dirty pages are written back (``os.sync``) before each run, so a
run does not pay for the previous one's writeback.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import CPUS, WORKLOADS  # noqa: E402 (needs the path above)

TRIALS = WORKLOADS["W1"].trials
MB = 1e6
EXPERIMENT = "checkpoints"
SYSTEMS = ("with", "floor", "without")
_CHUNK = 1 << 20


def state_bytes(size: int, seed: int) -> bytes:
    """``size`` bytes of incompressible-looking data, quick to make (a random MiB, repeated)."""
    chunk = random.Random(seed).randbytes(_CHUNK)
    return (chunk * (size // _CHUNK + 1))[:size]


# --- the tune-core child ---------------------------------------------------------------------------
def run_tune(local_dir: Path, iterations: int, size: int, checkpoint_freq: int) -> dict[str, Any]:
    """W1's trial count with a class trainable holding ``size`` bytes; time the run_experiments call."""
    import tune_core as tune

    class BigState(tune.Trainable):
        """Holds ``config["size"]`` bytes; a step flips one byte; a checkpoint writes them all."""

        def _setup(self, config: dict[str, Any]) -> None:
            self.state = bytearray(state_bytes(config["size"], config["i"]))

        def _train(self) -> dict[str, Any]:
            self.state[self.iteration % len(self.state)] ^= 1
            return {"mean_accuracy": self.iteration}

        def _save(self, checkpoint_dir: str) -> str:
            path = os.path.join(checkpoint_dir, "state.bin")
            with open(path, "wb") as fh:
                fh.write(self.state)
            return path

        def _restore(self, path: str) -> None:
            with open(path, "rb") as fh:
                self.state = bytearray(fh.read())

    spec = {
        "run": BigState,
        "config": {"i": tune.grid_search(list(range(TRIALS))), "size": size},
        "stop": {"training_iteration": iterations},
        "resources": {"cpu": 1},
        "local_dir": str(local_dir),
        "checkpoint_freq": checkpoint_freq,
    }
    started = time.perf_counter()
    tune.run_experiments(
        {EXPERIMENT: spec}, verbose=0, executor_config={"num_cpus": CPUS, "num_gpus": 0}
    )
    run_s = time.perf_counter() - started
    results = 0
    trial_s = 0.0
    for path in (local_dir / EXPERIMENT).glob("*/result.json"):
        with path.open() as fh:
            for line in fh:
                if line.strip():
                    results += 1
                    trial_s += json.loads(line)["time_this_iter_s"]
    checkpoints = [p for p in (local_dir / EXPERIMENT).glob("*/checkpoint_*") if p.is_dir()]
    complete = sum(1 for p in checkpoints if (p / "state.bin").stat().st_size == size)
    return {"run_s": run_s, "results": results, "trial_s": trial_s, "checkpoints": len(checkpoints),
            "complete_checkpoints": complete}


# --- the floor child -------------------------------------------------------------------------------
def _floor_writer(directory: str, indices: list[int], size: int, barrier: Any, conn: Any) -> None:
    data = state_bytes(size, indices[0] if indices else 0)
    barrier.wait()
    started = time.perf_counter()
    for i in indices:
        final = os.path.join(directory, f"file_{i:06d}")
        tmp = os.path.join(directory, f".tmp_file_{i:06d}")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, final)
    conn.send((started, time.perf_counter()))
    conn.close()


def run_floor(out_dir: Path, files: int, size: int) -> dict[str, Any]:
    """Write ``files`` files of ``size`` bytes from ``CPUS`` processes; wall time from first to last byte."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(CPUS)
    procs, conns = [], []
    for k in range(CPUS):
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_floor_writer,
                           args=(str(out_dir), list(range(k, files, CPUS)), size, barrier, child_end))
        proc.start()
        child_end.close()
        procs.append(proc)
        conns.append(parent_end)
    spans = [conn.recv() for conn in conns]
    for proc in procs:
        proc.join()
    written = sum(1 for p in out_dir.iterdir() if p.name.startswith("file_") and p.stat().st_size == size)
    return {
        "run_s": max(end for _, end in spans) - min(start for start, _ in spans),
        "writer_s": sum(end - start for start, end in spans),
        "checkpoints": written,
    }


# --- the harness -----------------------------------------------------------------------------------
_TO_DELETE: list[Path] = []


@atexit.register
def _delete_outputs() -> None:
    for path in _TO_DELETE:
        shutil.rmtree(path, ignore_errors=True)


def run_child(system: str, args: argparse.Namespace, files: int, base: Path | None) -> dict[str, Any]:
    """One run of ``system`` in a fresh interpreter; its JSON line, checked."""
    out_dir = Path(tempfile.mkdtemp(prefix=f"tune-bench-ckpt-{system}-", dir=base))
    _TO_DELETE.append(out_dir)  # deleted when the whole benchmark ends, not now
    size = int(args.size_mb * MB)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--dir", str(out_dir),
           "--iterations", str(args.iterations), "--size-mb", str(args.size_mb), "--files", str(files)]
    paths = [str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    os.sync()  # the previous run's dirty pages go to disk now, not during this run
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"{system} exited {proc.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if system == "floor":
        if result["checkpoints"] != files:
            raise RuntimeError(f"floor: {result['checkpoints']} complete files, expected {files}")
        return result
    expected = TRIALS * args.iterations
    if result["results"] != expected:
        raise RuntimeError(f"{system}: {result['results']} results logged, expected {expected}")
    if system == "with" and (not result["checkpoints"]
                             or result["complete_checkpoints"] != result["checkpoints"]):
        raise RuntimeError(f"with: {result['complete_checkpoints']} of {result['checkpoints']} "
                           f"checkpoints hold the {size}-byte state")
    if system == "without" and result["checkpoints"]:
        raise RuntimeError(f"without: {result['checkpoints']} checkpoints written, expected none")
    return result


def summarize(runs: dict[str, list[dict[str, Any]]], size_mb: float) -> dict[str, float]:
    """Medians, and the per-checkpoint figures derived from them."""
    def med(system: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[system])

    out: dict[str, float] = {}
    if runs["with"] and runs["without"]:
        with_s, without_s, ckpts = med("with", "run_s"), med("without", "run_s"), med("with", "checkpoints")
        out |= {"with_run_s": with_s, "without_run_s": without_s, "checkpoints": ckpts,
                "s_per_checkpoint": (with_s - without_s) / ckpts,
                "trial_s_per_checkpoint": (med("with", "trial_s") - med("without", "trial_s")) / ckpts}
        if out["s_per_checkpoint"] > 0:
            out["mb_per_s"] = size_mb / out["s_per_checkpoint"]
    if runs["floor"]:
        files = med("floor", "checkpoints")
        out |= {"floor_files": files, "floor_run_s": med("floor", "run_s"),
                "floor_s_per_file": med("floor", "run_s") / files,
                "floor_writer_s_per_file": med("floor", "writer_s") / files}
        out["floor_mb_per_s"] = size_mb / out["floor_s_per_file"]
    if "s_per_checkpoint" in out and "floor_s_per_file" in out:
        out["ratio"] = out["s_per_checkpoint"] / out["floor_s_per_file"]
    return out


def paired_ratios(runs: dict[str, list[dict[str, Any]]]) -> list[float]:
    """tune-core / floor, wall s per checkpoint, within each repeat that has all three runs."""
    ratios = []
    for w, f, wo in zip(runs["with"], runs["floor"], runs["without"], strict=False):  # prefixes: a failed system stops
        per_ckpt = (w["run_s"] - wo["run_s"]) / w["checkpoints"]
        ratios.append(per_ckpt / (f["run_s"] / f["checkpoints"]))
    return ratios


def table(s: dict[str, float], args: argparse.Namespace, ratios: list[float]) -> str:
    def cell(key: str, fmt: str) -> str:
        return fmt.format(s[key]) if key in s else "-"

    rows = [
        ("run s, checkpoint_freq=1", cell("with_run_s", "{:.3f}"), "-"),
        ("run s, no checkpoints", cell("without_run_s", "{:.3f}"), "-"),
        ("floor run s (writes only)", "-", cell("floor_run_s", "{:.3f}")),
        ("checkpoints / files written", cell("checkpoints", "{:,.0f}"), cell("floor_files", "{:,.0f}")),
        ("wall s per checkpoint", cell("s_per_checkpoint", "{:.4f}"), cell("floor_s_per_file", "{:.4f}")),
        ("MB/s (wall)", cell("mb_per_s", "{:,.0f}"), cell("floor_mb_per_s", "{:,.0f}")),
        ("s per checkpoint, in its trial", cell("trial_s_per_checkpoint", "{:.4f}"),
         cell("floor_writer_s_per_file", "{:.4f}")),
    ]
    title = (f"Checkpoints: {TRIALS} trials x {args.iterations} iterations, {args.size_mb:g} MB state, "
             f"{CPUS} CPUs (medians of {args.repeat})")
    lines = [title, f"{'':<32} {'tune-core':>11} {'floor':>11}"]
    lines += [f"{label:<32} {a:>11} {b:>11}" for label, a, b in rows]
    if "ratio" in s:
        lines.append(f"tune-core / floor, wall s per checkpoint: {s['ratio']:.2f}x"
                     + (f" (each repeat on its own: {', '.join(f'{r:.2f}x' for r in ratios)})"
                        if len(ratios) > 1 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20, help="iterations per trial (default 20)")
    parser.add_argument("--size-mb", type=float, default=10.0, help="checkpoint size in MB (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs per system (default 3)")
    parser.add_argument("--dir", type=Path, default=None, help="where runs write (default: temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="write every run and the figures here")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = int(args.size_mb * MB)

    if args.child:
        if args.child == "floor":
            result = run_floor(args.dir, args.files, size)
        else:
            result = run_tune(args.dir, args.iterations, size, 1 if args.child == "with" else 0)
        print(json.dumps(result))
        return 0

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    errors: dict[str, list[str]] = {s: [] for s in SYSTEMS}
    files = TRIALS * (args.iterations - 1)  # until a checkpointed run says how many it wrote
    for attempt in range(args.repeat):
        for system in SYSTEMS:
            if errors[system]:
                continue
            try:
                run = run_child(system, args, files, args.dir)
            except RuntimeError as exc:
                errors[system].append(str(exc))
                print(f"  {system}: FAILED\n    " + str(exc).replace("\n", "\n    "), flush=True)
                continue
            if system == "with":
                files = run["checkpoints"]
            runs[system].append(run)
            what = "files" if system == "floor" else "checkpoints"
            print(f"  {system:<7} run {attempt + 1}/{args.repeat}: {run['run_s']:.3f} s, "
                  f"{run['checkpoints']} {what}", flush=True)
    summary = summarize(runs, args.size_mb)
    print()
    ratios = paired_ratios(runs)
    print(table(summary, args, ratios))
    if args.json:
        args.json.write_text(json.dumps({
            "environment": {"python": platform.python_version(), "machine": platform.machine(),
                            "cpus": os.cpu_count(), "platform": platform.platform()},
            "options": {"trials": TRIALS, "iterations": args.iterations, "size_mb": args.size_mb,
                        "repeat": args.repeat},
            "runs": runs, "errors": errors, "figures": summary, "ratio_per_repeat": ratios,
        }, indent=2))
    return 1 if any(errors.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
