"""``tune-core client ls|add|stop``: the Client API from a shell."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tune_core import TuneError
from tune_server.client import TuneClient

COLUMNS = ("trial_id", "name", "status", "training_iteration", "location")


def _table(trials: list[dict[str, Any]]) -> str:
    rows = [[str(t.get(c) if c != "training_iteration" else (t.get("last_result") or {}).get(c, "")) or ""
             for c in COLUMNS] for t in trials]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    client = TuneClient(args.address, args.token, args.experiment_dir)
    if args.action == "ls":
        print(_table(client.get_all_trials()))
    elif args.action == "add":
        try:
            spec = json.loads(args.spec)
        except ValueError as exc:
            raise TuneError(f"SPEC_JSON is not valid JSON: {exc}") from None
        added = client.add_trial(args.name, spec)
        print(_table(added))
    else:
        stopped = client.stop_trial(args.trial_id)
        print(f"{stopped['trial_id']} {stopped['status']}")
    return 0
