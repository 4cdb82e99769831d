"""A fault-injected run next to a clean one: nothing lost, nothing duplicated, no call paid twice.

The fake teacher injects 10% HTTP 500, 5% 429 with Retry-After, 2% dropped connections, 1% non-JSON 200s and 1%
replies slower than the client's timeout. Prints completed/accepted/rejected/failed, lost, duplicated, repeated
calls (requests the server answered twice), retries by reason, and wall time against the clean run.

    python bench/faults.py --n 2000 --c 64
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from _common import cleanup, fake_teacher, pin, run_engine, tmpdir, write_inputs

FAULTS = dict(fail=0.10, rate=0.05, retry_after=0.5, drop=0.02, garbage=0.01, slow=0.01, slow_seconds=10.0)


def one(n: int, c: int, latency: float, jitter: float, faults: dict[str, float], timeout: float
        ) -> dict[str, object]:
    folder = tmpdir()
    try:
        with fake_teacher(latency=latency, jitter=jitter, **faults) as server:
            inp = write_inputs(folder, n)
            m = run_engine(server.url, inp, folder / "out", c, timeout=timeout, max_retries=10)
            rows = {k: [json.loads(x) for x in (folder / "out" / f"{k}.jsonl").read_text().splitlines()]
                    for k in ("data", "rejected", "failed")}
            idx = Counter([r["meta"]["index"] for r in rows["data"]] +
                          [r["item"]["index"] for r in rows["rejected"] + rows["failed"]])
            log = server.log()
            return {"wall": m["wall_seconds"], "accepted": len(rows["data"]), "rejected": len(rows["rejected"]),
                    "failed": len(rows["failed"]), "completed": sum(idx.values()),
                    "lost": n - len(idx), "duplicated": sum(v - 1 for v in idx.values() if v > 1),
                    "repeated_calls": len(log) - len(set(log)), "usage": m["usage"]["teacher"],
                    "server": server.stats()}
    finally:
        cleanup(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--c", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--jitter", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    pin(0)
    clean = one(args.n, args.c, args.latency, args.jitter, {}, args.timeout)
    faulty = one(args.n, args.c, args.latency, args.jitter, FAULTS, args.timeout)
    u, s = faulty["usage"], faulty["server"]
    print(f"fault-injected run, N={args.n} C={args.c}, latency {args.latency}s + U(0, {args.jitter}s), "
          f"timeout {args.timeout}s")
    print(f"  injected at the server: {s['fail']} x 500, {s['rate']} x 429, {s['drop']} dropped, "
          f"{s['garbage']} non-JSON, {s['slow']} beyond the timeout")
    print(f"  completed {faulty['completed']} / {args.n}: accepted {faulty['accepted']}, rejected "
          f"{faulty['rejected']}, failed {faulty['failed']}")
    print(f"  lost {faulty['lost']} (target 0), duplicated {faulty['duplicated']} (target 0), "
          f"repeated calls {faulty['repeated_calls']} (target 0)")
    print(f"  retries {u['retries']}: {json.dumps(u['retry_reasons'], sort_keys=True)}")
    walls = [faulty["wall"]] + [one(args.n, args.c, args.latency, args.jitter, FAULTS, args.timeout)["wall"]
                                for _ in range(2)]
    ratios = sorted(w / clean["wall"] for w in walls)  # type: ignore[operator]
    print(f"  wall vs clean run ({clean['wall']:.2f}s), 3 fault runs: median {ratios[1]:.2f}x, range "
          f"{ratios[0]:.2f}-{ratios[2]:.2f}x. Faulted attempts still occupy a slot for the server's latency "
          f"({u['retries']} extra attempts = {u['retries'] / args.n:.0%} more slot time); the rest is the tail "
          f"of items that fail late (a {args.timeout:g}s timeout, then a retry).")
    print("reference (../shared/research/distilabel.md, performance.md): distilabel turns a whole batch into None "
          "outputs when one request in it fails; curator drains retries only after the first pass and pauses "
          "everything 10 s per rate-limit error")


if __name__ == "__main__":
    main()
