"""The Client API under load: W1-shaped runs with and without 50 clients polling ``GET /api/trials``.

W1's shape (20 trials, a tight reporting loop, 1 CPU each on 2 CPUs, FIFO, default loggers, ``verbose=0``,
see ``workloads.py``) but each trial reports for ``--trial-s`` seconds (default 3.2) instead of 500
times, so that a run lasts at least 20 x 3.2 / 2 = 32 s whatever the rate (a W1 run proper lasts ~0.2 s);
the driver is the bottleneck, so it goes on logging the backlog after the last trial ends (runs of 40-49 s
on 2 cores), and the clients' 30 s cover only part of it (printed).
Variants, each run a fresh driver process, alternating, ``--repeat`` rounds (default 3):

- ``plain``: no server (``with_server`` off), as W1 runs;
- ``idle``: ``with_server=True``, nobody calling it;
- ``load``: ``with_server=True`` and, in a separate process started once the token file appears, 50
  client threads (``--clients``) each sending ``GET /api/trials`` 20 times a second (``--rate``) for 30 s
  (``--load-s``) over one keep-alive ``http.client`` connection each: 1,000 requests/s in all.

The figure is results/s over the ``run_experiments`` call (results counted in the trials' result.json);
the drop is ``1 - load / plain`` on the medians (target <= 20%). Every request whose answer is not a
200 with a JSON list of trial summaries, or that raises, is a failure (target 0). The client process
also prints the rate it achieved (it cannot send faster than the server answers) and latency p50/p99.
The driver, its workers, the server (a thread of the driver) and the clients share the machine's CPUs.

Usage: ``python benchmarks/client_load.py [--repeat 3] [--dir D] [--variants plain,idle,load] [--json F]``
(needs tune-server installed: ``pip install -e plugins/tune-server``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRIALS = 20
TOKEN_FILE = ".tune_server.json"  # tune_server.server.TOKEN_FILE


# --- the driver (a fresh process per run) ---------------------------------------------------------
def driver(variant: str, local_dir: Path, trial_s: float) -> dict[str, Any]:
    """One run: 20 trials, each reporting in a tight loop for ``trial_s`` seconds; run seconds and results."""
    sys.path.insert(0, str(HERE))
    from workloads import CPUS

    import tune_core as tune

    def trainable(config: dict[str, Any], reporter: Any) -> None:
        deadline = time.perf_counter() + trial_s
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            reporter(mean_accuracy=i, timesteps_total=i)

    experiments = {"W1": {"run": trainable, "config": {"i": tune.grid_search(list(range(TRIALS)))},
                          "resources": {"cpu": 1}, "local_dir": str(local_dir)}}
    server = {"with_server": True, "server_port": 0} if variant != "plain" else {}
    cpu0 = os.times()
    started = time.perf_counter()
    tune.run_experiments(experiments, scheduler="fifo", executor_config={"num_cpus": CPUS, "num_gpus": 0},
                         verbose=0, **server)
    run_s = time.perf_counter() - started
    cpu1 = os.times()
    return {"run_s": run_s, "results": _count_results(local_dir / "W1"),
            "driver_cpu_s": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
            "workers_cpu_s": (cpu1.children_user + cpu1.children_system)
            - (cpu0.children_user + cpu0.children_system)}


def _count_results(experiment_dir: Path) -> int:
    """Lines in every trial's result.json (one result each), counted without parsing them."""
    total = 0
    for path in experiment_dir.glob("*/result.json"):
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                total += chunk.count(b"\n")
    return total


# --- the clients (a separate process) -------------------------------------------------------------
def clients(experiment_dir: Path, count: int, rate: float, seconds: float) -> dict[str, Any]:
    """``count`` threads, each polling ``GET /api/trials`` ``rate`` times a second for ``seconds``."""
    token_path = experiment_dir / TOKEN_FILE
    deadline = time.monotonic() + 30
    while not token_path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {token_path} after 30 s")
        time.sleep(0.01)
    found = json.loads(token_path.read_text())
    host, _, port = found["address"].rpartition(":")
    headers = {"Authorization": f"Bearer {found['token']}", "Accept": "application/json"}
    period = 1.0 / rate
    latencies: list[list[float]] = [[] for _ in range(count)]
    failures: list[list[str]] = [[] for _ in range(count)]
    barrier = threading.Barrier(count + 1)
    window: dict[str, float] = {}

    def poll(k: int) -> None:
        connection = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=10)
        mine, failed = latencies[k], failures[k]
        barrier.wait()
        start, end = window["start"], window["end"]
        due = start + period * k / count  # spread the clients over one period
        while due < end:
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now - due > period:  # behind: no burst to catch up, just go on from now
                due = now
            sent = time.perf_counter()
            try:
                connection.request("GET", "/api/trials", headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    failed.append(f"{response.status}: {body[:200]!r}")
                else:
                    trials = json.loads(body)
                    # The search algorithm adds trials as slots free up, so the list grows to 20.
                    if not isinstance(trials, list) or not all("trial_id" in t for t in trials):
                        failed.append(f"200 but not a list of trials: {body[:200]!r}")
            except Exception as exc:  # every failure counts, and the client reconnects
                failed.append(f"{type(exc).__name__}: {exc}")
                connection.close()
            mine.append(time.perf_counter() - sent)
            due += period
        connection.close()

    threads = [threading.Thread(target=poll, args=(k,), daemon=True) for k in range(count)]
    for thread in threads:
        thread.start()
    cpu0 = os.times()
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - window["start"]
    cpu1 = os.times()
    every = sorted(x for per in latencies for x in per)
    errors = [e for per in failures for e in per]
    return {"requests": len(every), "failed": len(errors), "errors_sample": errors[:5], "seconds": elapsed,
            "rate": len(every) / elapsed, "target_rate": count * rate,
            "p50_ms": _quantile(every, 0.50) * 1e3, "p99_ms": _quantile(every, 0.99) * 1e3,
            "max_ms": every[-1] * 1e3 if every else 0.0,
            "clients_cpu_s": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)}


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --- the harness ----------------------------------------------------------------------------------
def run_once(variant: str, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One run of ``variant`` in fresh processes; with ``load``, the clients' figures beside it."""
    out = Path(tempfile.mkdtemp(prefix=f"client-load-{variant}-", dir=base))
    try:
        drive = subprocess.Popen([sys.executable, __file__, "--driver", variant, str(out), str(args.trial_s)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        load = None
        if variant == "load":
            load = subprocess.Popen([sys.executable, __file__, "--clients-child", str(out / "W1"), str(args.clients),
                                     str(args.rate), str(args.load_s)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        d_out, d_err = drive.communicate(timeout=args.trial_s * TRIALS + 300)
        if drive.returncode != 0:
            if load:
                load.kill()
            raise RuntimeError(f"{variant} driver failed:\n{d_err[-3000:]}")
        run = json.loads(d_out.strip().splitlines()[-1])
        if load:
            c_out, c_err = load.communicate(timeout=120)
            if load.returncode != 0:
                raise RuntimeError(f"clients failed:\n{c_err[-3000:]}")
            run["clients"] = json.loads(c_out.strip().splitlines()[-1])
        run["results_per_s"] = run["results"] / run["run_s"]
        return run
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each runs every variant once")
    parser.add_argument("--dir", type=Path, default=None, help="where runs write (default: the temp dir)")
    parser.add_argument("--variants", default="plain,idle,load", help="comma-separated: plain, idle, load")
    parser.add_argument("--trial-s", type=float, default=3.2, help="seconds each of the 20 trials reports")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second per client")
    parser.add_argument("--load-s", type=float, default=30.0, help="seconds the clients poll")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--driver", nargs=3, metavar=("VARIANT", "DIR", "TRIAL_S"), help=argparse.SUPPRESS)
    parser.add_argument("--clients-child", dest="clients_child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.driver:
        print(json.dumps(driver(args.driver[0], Path(args.driver[1]), float(args.driver[2]))))
        return 0
    if args.clients_child:
        where, count, rate, seconds = args.clients_child
        print(json.dumps(clients(Path(where), int(count), float(rate), float(seconds))))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in ("plain", "idle", "load")]
    if bad or "plain" not in variants or "load" not in variants:
        parser.error(f"--variants: plain and load, optionally idle; got {args.variants!r}")
    base = args.dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    print(f"W1-shaped run: {TRIALS} trials x {args.trial_s:g} s of reports on 2 CPUs; load: {args.clients} "
          f"clients x {args.rate:g} req/s for {args.load_s:g} s; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for round_ in range(args.repeat):
        for variant in variants if round_ % 2 == 0 else variants[::-1]:
            run = run_once(variant, base, args)
            runs[variant].append(run)
            line = (f"round {round_ + 1} {variant:5} {run['results_per_s']:9,.0f} results/s ({run['results']:,} "
                    f"in {run['run_s']:.1f} s; driver CPU {run['driver_cpu_s']:.1f} s, workers "
                    f"{run['workers_cpu_s']:.1f} s)")
            if "clients" in run:
                c = run["clients"]
                line += (f"\n        clients: {c['requests']:,} requests, {c['failed']} failed, "
                         f"{c['rate']:,.0f}/s of {c['target_rate']:,.0f}, p50 {c['p50_ms']:.1f} ms, "
                         f"p99 {c['p99_ms']:.1f} ms, max {c['max_ms']:.0f} ms, client CPU {c['clients_cpu_s']:.1f} s; "
                         f"polling during {min(1.0, c['seconds'] / run['run_s']):.0%} of the run")
                if c["errors_sample"]:
                    line += "\n        errors: " + "; ".join(c["errors_sample"])
            print(line, flush=True)
    medians = {v: statistics.median(r["results_per_s"] for r in rs) for v, rs in runs.items()}
    loads = [r["clients"] for r in runs["load"]]
    drop = 1 - medians["load"] / medians["plain"]
    failed = sum(c["failed"] for c in loads)
    print(f"\nresults/s, medians of {args.repeat}:")
    for variant in variants:
        samples = ", ".join(f"{r['results_per_s']:,.0f}" for r in runs[variant])
        print(f"  {variant:5} {medians[variant]:9,.0f}  [{samples}]")
    if "idle" in medians:
        print(f"drop with the server idle: {1 - medians['idle'] / medians['plain']:.1%}")
    print(f"drop under load: {drop:.1%} (target <= 20%: {'met' if drop <= 0.20 else 'NOT met'})")
    print(f"requests: {sum(c['requests'] for c in loads):,} made, {failed} failed (target 0: "
          f"{'met' if failed == 0 else 'NOT met'}); achieved "
          f"{statistics.median(c['rate'] for c in loads):,.0f} req/s of {loads[0]['target_rate']:,.0f} (median); "
          f"latency p50 {statistics.median(c['p50_ms'] for c in loads):.1f} ms, "
          f"p99 {statistics.median(c['p99_ms'] for c in loads):.1f} ms (medians of the runs')")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": medians, "drop": drop}, indent=2))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
