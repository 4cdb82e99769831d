"""The exactly-once cache at scale: re-running a finished N-item run makes 0 calls and how fast it reads cached
records; editing one input row makes exactly 1 new call.

    python bench/cache.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import time

from _common import cleanup, fake_teacher, pin, run_engine, tmpdir, write_inputs


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
            t0 = time.monotonic()
            again = run_engine(server.url, inp, folder / "out", args.c)
            wall = time.monotonic() - t0
            calls = server.stats()["requests"] - before
            rate = args.n / again["wall_seconds"]
            print(f"re-run: {calls} calls (target 0), {again['usage']['teacher']['cache_hits']} cached, "
                  f"{rate:,.0f} records/s inside the run, {args.n / wall:,.0f}/s including start and finish "
                  f"(target >= 50,000/s)")
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
