"""The floor: W1-W4's work in plain Python, the physical limit for process-isolated trials with logging.

Two worker processes run the "trials" (a parent hands each idle worker the next trial number) and send
every result through a ``multiprocessing`` pipe; the parent appends each as a JSON line to one file.
No trials objects, scheduler or state. Usage (the harness runs it in a fresh process)::

    python benchmarks/floor.py W1 OUT_DIR      # prints {"run_s": ..., "results": ...}
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import cast

from workloads import CPUS, WORKLOADS, Workload


def worker(conn: Connection, results: int, sleep: float) -> None:
    """Run each trial number the parent sends; ``None`` means stop."""
    while (trial := conn.recv()) is not None:
        for i in range(1, results + 1):
            if sleep:
                time.sleep(sleep)
            conn.send({"trial": trial, "training_iteration": i, "mean_accuracy": i, "timesteps_total": i})
        conn.send(trial)  # an int, not a dict: this trial is done


def run(workload: Workload, out_dir: Path) -> dict[str, float]:
    """Run ``workload`` on ``CPUS`` workers; return the run's seconds and how many results were logged."""
    started = time.perf_counter()
    pending = list(range(workload.trials))
    pending.reverse()
    conns: list[Connection] = []
    procs = []
    for _ in range(CPUS):
        parent_end, child_end = mp.Pipe()
        proc = mp.Process(target=worker, args=(child_end, workload.results, workload.sleep), daemon=True)
        proc.start()
        child_end.close()
        conns.append(parent_end)
        procs.append(proc)
    logged = 0
    running = 0
    with open(out_dir / "results.jsonl", "a") as log:
        for conn in conns:
            if pending:
                conn.send(pending.pop())
                running += 1
        while running:
            for ready in wait(conns):
                conn = cast(Connection, ready)  # wait() hands back the connections it was given
                message = conn.recv()
                if type(message) is dict:
                    log.write(json.dumps(message) + "\n")
                    logged += 1
                elif pending:
                    conn.send(pending.pop())
                else:
                    running -= 1
    for conn in conns:
        conn.send(None)
    for proc in procs:
        proc.join()
    return {"run_s": time.perf_counter() - started, "results": logged}


if __name__ == "__main__":
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(WORKLOADS[sys.argv[1]], out)))
