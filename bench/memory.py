"""Memory stays O(concurrency), not O(dataset): peak RSS of `distill run` over N prompts against a small run,
each in a fresh process, with a zero-latency fake teacher.

    python bench/memory.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import ROOT, cleanup, fake_teacher, tmpdir, write_inputs


def peak_rss_mb(url: str, n: int, folder) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    inp = write_inputs(folder, n, tag=f"{n}-")
    cfg = folder / f"r{n}.yaml"
    cfg.write_text(json.dumps({"recipe": "respond", "teacher": {"provider": "openai", "model": "m", "base_url": url,
                                                                "max_concurrency": 256},
                               "generation": {"max_tokens": 16}, "input": {"path": str(inp)},
                               "out": str(folder / f"out{n}")}))
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS (kB on Linux)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(proc.stderr.read() if proc.stderr else "run failed")
    return usage.ru_maxrss / 1024, time.monotonic() - t0


def _held_mb(n: int) -> float:
    import sys

    prompts = [f"Bench task {i}: reply briefly" for i in range(n)]
    return (sum(sys.getsizeof(p) for p in prompts) + sys.getsizeof(prompts)) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    folder = tmpdir()
    try:
        with fake_teacher() as server:
            small, _ = peak_rss_mb(server.url, 1000, folder)
            big, wall = peak_rss_mb(server.url, args.n, folder)
    finally:
        cleanup(folder)
    print(f"peak RSS: {small:.0f} MB for 1,000 prompts, {big:.0f} MB for {args.n:,} prompts ({wall:.0f} s): "
          f"+{big - small:.0f} MB (target <= +300 MB)")
    print(f"reference: the {args.n:,} prompts alone, held as Python strings in a list, take "
          f"{_held_mb(args.n):.0f} MB, before any task, request or record exists")


if __name__ == "__main__":
    main()
