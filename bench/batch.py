"""Batch mode's own cost: the client CPU per request to gather, encode, upload, poll, download and commit N
answers through the scripted OpenAI Batch API (`tests/openai_batch_server.py`, on the other core), and the wall
time with the provider's wait taken out (the server answers after `--polls` looks at a batch). Reference: the
same N as immediate calls against the same server.

    python bench/batch.py --n 50000
"""

from __future__ import annotations

import argparse
import os

from _common import cleanup, cpu_seconds, pin, run_engine, tmpdir, write_inputs
from openai_batch_server import OpenAIBatchServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--polls", type=int, default=2)
    args = ap.parse_args()
    import time

    pin(0)
    folder = tmpdir()
    try:
        with OpenAIBatchServer(batch={"polls": args.polls}) as server:
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(server.proc.pid, {1})  # type: ignore[union-attr]
            inp = write_inputs(folder, args.n)
            rows = []
            for mode, extra in (("batch", {"batch": {"poll_seconds": 0.05, "gather_seconds": 0.2}}),
                                ("immediate", {})):
                cpu0, t0 = cpu_seconds(), time.perf_counter()
                manifest = run_engine(server.url, inp, folder / mode, 256, **extra)
                wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
                got = manifest["counts"]["accepted"]
                rows.append((mode, got, wall, cpu * 1000 / args.n))
            stats = server.batch_stats()
        for mode, got, wall, ms in rows:
            print(f"{mode:<10} {got:>7} records  wall {wall:6.2f} s  client CPU {ms:.3f} ms/request")
        print(f"batch: {stats['files']} file(s), {stats['batches']} batch(es), {stats['lines']} lines uploaded, "
              f"{stats['polls']} polls; load average {os.getloadavg()[0]:.1f}")
    finally:
        cleanup(folder)


if __name__ == "__main__":
    main()
