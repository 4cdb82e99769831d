"""The exactly-once cache at scale: re-running a finished N-item run makes 0 calls and how fast it reads cached
records; editing one input row makes exactly 1 new call. A re-run replays each row's stored outcomes (its item
log, see distill/engine/item_log.py). Reference: the bare SQLite point-read rate of the cached answers, by key.

    python bench/cache.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from pathlib import Path

from _common import cleanup, fake_teacher, median, pin, run_engine, tmpdir, write_inputs


def _point_reads(out: Path) -> float:
    db = sqlite3.connect(str(out / "cache.sqlite"))
    keys = [k for (k,) in db.execute("SELECT key FROM answers")]
    random.Random(0).shuffle(keys)
    t0 = time.perf_counter()
    for k in keys:
        db.execute("SELECT value FROM answers WHERE key = ?", (k,)).fetchone()
    rate = len(keys) / (time.perf_counter() - t0)
    db.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--c", type=int, default=256)
    args = ap.parse_args()
    pin(0)
    folder = tmpdir()
    try:
        with fake_teacher() as server:
            inp = write_inputs(folder, args.n)
            t0 = time.monotonic()
            first = run_engine(server.url, inp, folder / "out", args.c)
            print(f"first run: {args.n} items, {server.stats()['answered']} calls, {time.monotonic() - t0:.1f}s")
            before = server.stats()["requests"]
            inside, whole = [], []
            for _ in range(3):
                t0 = time.monotonic()
                again = run_engine(server.url, inp, folder / "out", args.c)
                whole.append(args.n / (time.monotonic() - t0))
                inside.append(args.n / again["wall_seconds"])
                assert again["counts"]["accepted"] == args.n
            calls = server.stats()["requests"] - before
            print(f"re-run (median of 3): {calls} calls (target 0), {again['usage']['teacher']['cache_hits']} "
                  f"cached, {median(inside):,.0f} records/s inside the run, {median(whole):,.0f}/s including "
                  f"reading the config, checking every input row and writing the final files (target >= 50,000/s)")
            reads = _point_reads(folder / "out")
            print(f"reference: SQLite point reads of the {args.n:,} answers by key: {reads:,.0f}/s")
            lines = inp.read_text().splitlines()
            lines[args.n // 2] = json.dumps({"instruction": "An edited row"})
            inp.write_text("\n".join(lines) + "\n")
            before = server.stats()["requests"]
            run_engine(server.url, inp, folder / "out", args.c)
            print(f"one edited row: {server.stats()['requests'] - before} new call(s) (target 1)")
            assert first["counts"]["accepted"] == args.n
    finally:
        cleanup(folder)


if __name__ == "__main__":
    main()
