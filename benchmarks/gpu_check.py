"""GPU placement check: real torch trials given a whole GPU, half a GPU or none see exactly that.

Each trial reports ``torch.cuda.device_count()``, its ``CUDA_VISIBLE_DEVICES`` and the device a matrix
product ran on, holding its GPU for a moment so that trials overlap. The check then asserts:

- ``{"gpu": 1}``: one visible GPU, ``cuda:0`` inside the trial, never two trials on one GPU at once;
- ``{"gpu": 0.5}``: one visible GPU, ``cuda:0``, at most two trials on one GPU at once;
- ``{"gpu": 0}``: no GPU visible at all, the tensor stays on the CPU.

Needs a GPU machine and torch with CUDA; elsewhere it says "no GPU" and exits 0. Usage::

    python benchmarks/gpu_check.py [--local-dir DIR] [--hold SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's tune_core

import tune_core as tune
from tune_core.resources import detect_gpus


def probe(config: dict[str, Any], reporter: Callable[..., Any]) -> None:
    """Report what this trial sees of the GPUs, after using the one it was given for ``hold`` seconds."""
    import time

    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    count = torch.cuda.device_count()
    started = time.time()
    if count:
        x = torch.randn(512, 512, device="cuda")
        device = str((x @ x).device)
        torch.cuda.synchronize()
    else:
        device = str((torch.ones(2, 2) @ torch.ones(2, 2)).device)
    time.sleep(max(0.0, config["hold"] - (time.time() - started)))
    reporter(
        device_count=count,
        cuda_visible_devices="<unset>" if visible is None else visible,
        tensor_device=device,
        started=started,
        ended=time.time(),
        pid=os.getpid(),
    )


def check(records: list[dict[str, Any]], share: float, machine_gpus: int) -> list[str]:
    """Every way the trials' views differ from what a ``share`` of a GPU should give; empty when right."""
    errors: list[str] = []
    per_gpu: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rec in records:
        name, visible = rec["trial"], rec["cuda_visible_devices"]
        ids = [] if visible in ("", "<unset>", "-1") else visible.split(",")
        if share == 0:
            if rec["device_count"] != 0 or not rec["tensor_device"].startswith("cpu"):
                errors.append(f"{name}: asked for no GPU but sees {rec['device_count']} "
                              f"(CUDA_VISIBLE_DEVICES={visible!r}, tensor on {rec['tensor_device']})")
            continue
        if len(ids) != 1 or rec["device_count"] != 1:
            errors.append(f"{name}: gpu={share} should see exactly 1 GPU, sees {rec['device_count']} "
                          f"(CUDA_VISIBLE_DEVICES={visible!r})")
            continue
        if not ids[0].isdigit() or int(ids[0]) >= machine_gpus:
            errors.append(f"{name}: CUDA_VISIBLE_DEVICES={visible!r} is not one of this machine's "
                          f"{machine_gpus} GPUs")
        if rec["tensor_device"] != "cuda:0":
            errors.append(f"{name}: tensor ran on {rec['tensor_device']}, expected cuda:0")
        per_gpu[ids[0]].append((rec["started"], rec["ended"]))
    limit = int(1 / share) if share else 0
    for gpu, spans in per_gpu.items():
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        if peak > limit:
            errors.append(f"GPU {gpu}: {peak} trials with gpu={share} ran on it at once (at most {limit})")
    return errors


def run_share(share: float, trials: int, machine_gpus: int, local_dir: Path, hold: float) -> list[str]:
    """Run ``trials`` probes with ``{"gpu": share}`` and check what each saw."""
    name = f"gpu_check_{str(share).replace('.', '_')}"
    tune.run_experiments(
        {name: {
            "run": probe,
            "config": {"i": tune.grid_search(list(range(trials))), "hold": hold},
            "resources": {"cpu": 1, "gpu": share},
            "local_dir": str(local_dir),
        }},
        executor_config={"num_cpus": max(os.cpu_count() or 1, trials), "num_gpus": machine_gpus},
        verbose=1,
    )
    records = []
    for result_file in sorted((local_dir / name).glob("*/result.json")):
        lines = [ln for ln in result_file.read_text().splitlines() if ln.strip()]
        if not lines:
            return [f"{result_file.parent.name}: reported nothing"]
        records.append({"trial": result_file.parent.name, **json.loads(lines[-1])})
    if len(records) != trials:
        return [f"gpu={share}: {len(records)} trials reported, expected {trials}"]
    for rec in records:
        print(f"  gpu={share:<4} {rec['trial']}: CUDA_VISIBLE_DEVICES={rec['cuda_visible_devices']!r} "
              f"device_count={rec['device_count']} tensor on {rec['tensor_device']}")
    return check(records, share, machine_gpus)


def main(argv: list[str] | None = None) -> int:
    """Run the three placements; exit 1 if any trial saw the wrong GPUs."""
    parser = argparse.ArgumentParser(description="check that trials see exactly the GPUs they were given")
    parser.add_argument("--local-dir", type=Path, default=None, help="results root (default: a temp dir)")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds each trial holds its GPU")
    args = parser.parse_args(argv)

    machine_gpus = detect_gpus()
    if machine_gpus == 0:
        print("no GPU: nothing to check (this check needs a machine with an NVIDIA GPU)")
        return 0
    try:
        import torch
    except ImportError:
        print(f"{machine_gpus} GPU(s) found but torch is not installed: pip install 'tune-core[torch]'")
        return 2
    if not torch.cuda.is_available():
        print(f"{machine_gpus} GPU(s) found but this torch ({torch.__version__}) has no CUDA: nothing to check")
        return 2
    local_dir = args.local_dir or Path(tempfile.mkdtemp(prefix="tune-gpu-check-"))
    errors: list[str] = []
    for share, trials in ((1.0, 2 * machine_gpus), (0.5, 4 * machine_gpus), (0.0, 2)):
        errors += run_share(share, trials, machine_gpus, local_dir, args.hold)
    if errors:
        print("GPU check FAILED:\n  " + "\n  ".join(errors))
        return 1
    print(f"GPU check passed on {machine_gpus} GPU(s): every trial saw exactly the GPU share it was given")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
