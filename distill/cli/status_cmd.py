"""`distill status RUN_DIR`: where a run's batches stand — pending ones with their progress, collected ones with
the answers had from them and the lines of their results file that could not be read, answers collected and what
they cost so far — read from the run folder's cache.sqlite (safe while the run is going on)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="show a run's batches (batch mode): progress, answers collected, cost so far",
                       description="Show the batches of a run folder made in batch mode (`batch: true`): the ones "
                                   "still with the provider and how far along they are, the answers collected and "
                                   "their cost at the batch price. Reads cache.sqlite; safe while the run goes on.",
                       epilog="example:\n  distill status outputs/respond-demo",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError

    run: Path = args.run_dir
    if not run.is_dir():
        raise InputError(f"{run}: no such run folder")
    cache = run / "cache.sqlite"
    if not cache.is_file():
        raise InputError(f"{run}: no cache.sqlite, so no call was ever made in this folder")
    rows, waiting, answers = _read(cache)
    finished = (run / "manifest.json").is_file()
    print(f"{run}: {'finished' if finished else 'not finished (run the same command to go on)'}; "
          f"{answers:,} answers in the cache")
    if not rows and not waiting:
        print("no batches: this run made no call in batch mode (`batch: true` on a teacher or judge)")
        return 0
    pending = [r for r in rows if r["state"] == "submitted"]
    count = {s: sum(1 for r in rows if r["state"] == s) for s in ("collected", "failed", "lost", "waiting", "refused")}
    print(f"batches: {len(pending)} pending, " + ", ".join(
        f"{count[s]} {s}" for s in ("collected", "failed", "lost")) + "".join(
        f", {count[s]} {s}" for s in ("waiting", "refused") if count[s]))
    now = time.time()
    for r in rows:
        if r["state"] not in ("submitted", "waiting") and r is not rows[-1] and len(rows) > 12:
            continue  # a long history: show the pending and waiting ones, and the latest
        if r["state"] == "waiting":
            print(f"  {r['id']}  {r['role']:<8} {r['label']}  waiting for room in the provider's queue: "
                  f"{r['requests']:,} requests, refused {_ago(now - r['updated'])} ago ({r['provider_status']}); "
                  "made a batch again once one of the run's batches ends")
            continue
        progress = f"{r['done']:,}/{r['requests']:,} done" + (f", {r['errored']:,} errored" if r["errored"] else "")
        if r["state"] == "collected":
            progress += f", {r['answers']:,}/{r['requests']:,} answered"
        unreadable = r.get("unreadable") or 0  # a cache from before the column: none counted
        if unreadable:
            progress += f", {unreadable:,} unreadable line{'' if unreadable == 1 else 's'} in the results file"
        status = r["provider_status"] or "submitted"
        print(f"  {r['id']}  {r['role']:<8} {r['label']}  {r['state']}: {status}, {progress}, "
              f"submitted {_ago(now - r['created'])} ago")
    collected = sum(r["answers"] for r in rows)
    costs = [r["cost_usd"] for r in rows if r["state"] == "collected"]
    cost = "unknown (no price for this model)" if any(c is None for c in costs) else f"${sum(costs):.4f}"
    print(f"answers collected from batches: {collected:,}; their cost at the batch price: {cost}")
    print(f"requests with the provider now: {waiting:,}" + (" (run the same command to collect them)"
                                                            if waiting and not finished else ""))
    return 0


def _read(cache: Path) -> tuple[list[dict[str, Any]], int, int]:
    import sqlite3

    from distill.engine.cache import is_damage, unreadable

    db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        answers = int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'batches'").fetchone() is None:
            return [], 0, answers
        rows = [dict(r) for r in db.execute("SELECT * FROM batches ORDER BY created, id")]
        waiting = int(db.execute("SELECT count(*) FROM batch_requests").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise unreadable(cache, exc) from None
        raise
    finally:
        db.close()
    return rows, waiting, answers


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
