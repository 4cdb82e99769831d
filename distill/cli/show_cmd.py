"""`distill show RUN_DIR`: counts, usage and a few rows of a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("show", help="show counts and a few rows of a run folder",
                       description="Show a run folder: per-stage counts, rejection reasons, usage and sample rows.")
    p.add_argument("run_dir", type=Path)
    p.add_argument("-n", type=int, default=3, help="rows to show (default 3)")
    p.add_argument("--rejected", action="store_true", help="show rejected rows instead of accepted ones")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    from itertools import islice

    from distill.errors import InputError
    from distill.io.jsonl import read_jsonl

    manifest_path = args.run_dir / "manifest.json"
    if not manifest_path.exists():
        partial = list(args.run_dir.glob("*.partial"))
        hint = " (it was interrupted: run the same command again to finish it)" if partial else ""
        raise InputError(f"{args.run_dir}: no manifest.json, so not a finished run folder{hint}")
    m = json.loads(manifest_path.read_text())
    print(f"{args.run_dir}: recipe {m['recipe']} | teacher {m['teacher'].get('model')} | seed {m['seed']} | "
          f"{m['wall_seconds']}s")
    print(f"accepted {m['counts']['accepted']}, rejected {m['counts']['rejected']}, failed {m['counts']['failed']}")
    for stage, c in m["stages"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in c["rejected"].items()) or "none"
        print(f"  stage {stage}: accepted {c['accepted']}, failed {c['failed']}, rejected: {reasons}")
    for role, u in m["usage"].items():
        print(f"  {role}: {u['answered']} answered, {u['cache_hits']} cached, {u['retries']} retries, "
              f"{u['failed']} failed, {u['prompt_tokens']}+{u['completion_tokens']} tokens"
              + (f", ${u['cost_usd']}" if u["cost_usd"] else ""))
    name = "rejected.jsonl" if args.rejected else "data.jsonl"
    for _, row in islice(read_jsonl(args.run_dir / name), args.n):
        print(json.dumps(row, ensure_ascii=False)[:600])
    return 0
