"""Rate-limit compliance: with requests_per_minute set, the achieved rate against the set rate, the share of 429s
from a server that enforces that rate per 1-second window, and the busiest 1-second window.

    python bench/ratelimit.py --rpm 3000 --n 1500
"""

from __future__ import annotations

import argparse
import bisect

from _common import cleanup, fake_teacher, pin, run_engine, tmpdir, write_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rpm", type=float, default=3000)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--c", type=int, default=64)
    args = ap.parse_args()
    pin(0)
    rps = args.rpm / 60
    folder = tmpdir()
    try:
        with fake_teacher(latency=0.05, jitter=0.05, limit_rps=rps) as server:
            inp = write_inputs(folder, args.n)
            m = run_engine(server.url, inp, folder / "out", args.c, requests_per_minute=args.rpm)
            arrivals = sorted(server.arrivals())
            stats = server.stats()
    finally:
        cleanup(folder)
    span = arrivals[-1] - arrivals[0]
    achieved = (len(arrivals) - 1) / span * 60
    busiest = max(bisect.bisect_right(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
    print(f"set {args.rpm:.0f}/min ({rps:.1f}/s), N={args.n}, C={args.c}")
    print(f"achieved {achieved:.0f}/min = {achieved / args.rpm:.3f} of the set rate (target >= 0.95)")
    print(f"429 responses: {stats['rate']} of {stats['requests']} = {stats['rate'] / stats['requests']:.2%} "
          f"(target <= 1%)")
    print(f"busiest 1-second window: {busiest} requests = {busiest / rps:.2f}x the per-second rate (target <= 2x)")
    print(f"all accepted: {m['counts']['accepted'] == args.n}")
    print("reference (../shared/research/performance.md §1): curator keeps minute-granularity buckets, which allow "
          "a whole minute's budget in one burst, and pauses every request for 10 s after any 429")


if __name__ == "__main__":
    main()
