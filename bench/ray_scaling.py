"""The `ray` executor on one machine: in-process model replicas, HTTP throughput against the local executor, and
the shared rate limiter.

1. The embedded SmolLM2 teacher (llama.cpp) as 1 and as 2 Ray replicas, one CPU (and one llama.cpp thread)
   each, answering the same prompts: scaling efficiency = rate(2) / (2 x rate(1)), target >= 0.8.
2. The respond recipe against the fake teacher (latency 0.5 s + U(0, 0.2 s)) at N=10,000, C=512: under `ray`
   (2 HTTP workers) against `local`, target >= 0.9 of local.
3. requests_per_minute 3,000 across 2 workers against a server enforcing 50/s: share of the set rate, 429s.

Rates are steady-state: answers / (last answer's commit - first answer's commit), read from the run's cache, so
Ray's start-up (worker processes, model loading; printed separately) is not counted as serving time. Ray is
started once (`ray.init(num_cpus=2)`) before the runs.

    python bench/ray_scaling.py                 # all three
    python bench/ray_scaling.py --only replicas --n 24
"""

from __future__ import annotations

import argparse
import bisect
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from _common import cleanup, cpu_seconds, fake_teacher, median, tmpdir, write_inputs


def run(inp: Path, out: Path, teacher: dict[str, Any], executor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    from distill.config import RunConfig
    from distill.run.runner import execute

    cfg = RunConfig.model_validate({"recipe": "respond", "name": "bench", "teacher": teacher, "input": {
        "path": str(inp)}, "out": str(out), "executor": executor, **extra})
    return execute(cfg, progress=False).manifest


def steady_rate(out: Path) -> float:
    """Answers per second between the first and the last answer committed to the run's cache."""
    db = sqlite3.connect(str(out / "cache.sqlite"))
    first, last, n = db.execute("SELECT min(created), max(created), count(*) FROM answers WHERE role = 'teacher'"
                                ).fetchone()
    db.close()
    return (n - 1) / (last - first)


def replicas(n: int, repeat: int) -> None:
    prompts = tmpdir()
    try:
        inp = write_inputs(prompts, n, "replica ")
        rates: dict[int, list[float]] = {1: [], 2: []}
        for k in range(repeat):
            for count in (1, 2):
                folder = tmpdir()
                t0 = time.monotonic()
                m = run(inp, folder / "o", {"provider": "local", "max_concurrency": 8},
                        {"kind": "ray", "replicas": count, "num_cpus": 1},
                        generation={"max_tokens": 48, "temperature": 0.7, "seed": k})
                wall = time.monotonic() - t0
                rates[count].append(steady_rate(folder / "o"))
                print(f"  {count} replica(s), run {k + 1}: {rates[count][-1]:.2f} answers/s steady, {n} answers in "
                      f"{wall:.1f}s including actor start and model load; answered per replica "
                      f"{m['executor']['pools'][0]['answered']}", flush=True)
                cleanup(folder)
        one, two = median(rates[1]), median(rates[2])
        print(f"embedded SmolLM2, {n} prompts, 48 tokens: 1 replica {one:.2f}/s, 2 replicas {two:.2f}/s -> scaling "
              f"efficiency {two / (2 * one):.3f} (target >= 0.8)", flush=True)
    finally:
        cleanup(prompts)


def http(n: int, c: int, repeat: int) -> None:
    folder = tmpdir()
    try:
        with fake_teacher(latency=0.5, jitter=0.2) as server:
            teacher = {"provider": "openai", "model": "bench", "base_url": server.url, "max_concurrency": c,
                       "max_retries": 8}
            rates: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
            cpu: dict[str, list[float]] = {"local": [], "ray": []}
            for k in range(repeat):
                for kind in ("local", "ray"):
                    inp = write_inputs(folder, n, f"{kind}{k}-")
                    out = folder / f"{kind}{k}"
                    cpu0 = cpu_seconds()
                    m = run(inp, out, teacher, {"kind": kind, **({"workers": 2} if kind == "ray" else {})},
                            generation={"max_tokens": 16})
                    cpu[kind].append((cpu_seconds() - cpu0) / n * 1000)
                    assert m["counts"]["accepted"] == n, m["counts"]
                    rates[kind].append((steady_rate(out), n / m["wall_seconds"]))
                    print(f"  {kind} run {k + 1}: {rates[kind][-1][0]:.0f} req/s steady, "
                          f"{rates[kind][-1][1]:.0f} req/s over the whole run, driver CPU {cpu[kind][-1]:.3f} ms/req",
                          flush=True)
                    cleanup(out)
            limit = c / 0.6
            loc, ray_ = (median([r for r, _ in rates[x]]) for x in ("local", "ray"))
            loc_w, ray_w = (median([w for _, w in rates[x]]) for x in ("local", "ray"))
            print(f"HTTP N={n} C={c}: local {loc:.0f} req/s ({loc / limit:.3f} of C/latency), ray {ray_:.0f} req/s "
                  f"({ray_ / limit:.3f}) -> ray/local {ray_ / loc:.3f} steady (target >= 0.9); whole runs "
                  f"{loc_w:.0f} vs {ray_w:.0f} req/s = {ray_w / loc_w:.3f}; driver process CPU per request: local "
                  f"{median(cpu['local']):.3f} ms (HTTP included), ray {median(cpu['ray']):.3f} ms (cache, records, "
                  "dispatch)", flush=True)
    finally:
        cleanup(folder)


def limiter(rpm: float, n: int) -> None:
    rps = rpm / 60
    folder = tmpdir()
    try:
        with fake_teacher(latency=0.05, jitter=0.05, limit_rps=rps) as server:
            inp = write_inputs(folder, n)
            m = run(inp, folder / "o", {"provider": "openai", "model": "bench", "base_url": server.url,
                                        "max_concurrency": 64, "max_retries": 8, "requests_per_minute": rpm},
                    {"kind": "ray", "workers": 2})
            arrivals, stats = sorted(server.arrivals()), server.stats()
    finally:
        cleanup(folder)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60
    busiest = max(bisect.bisect_right(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
    print(f"rate limit {rpm:.0f}/min across 2 Ray workers, N={n}: achieved {achieved / rpm:.3f} of the set rate "
          f"(target >= 0.95), 429s {stats['rate']} of {stats['requests']} = {stats['rate'] / stats['requests']:.2%} "
          f"(target <= 1%), busiest second {busiest / rps:.2f}x; answered per worker "
          f"{m['executor']['pools'][0]['answered']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["replicas", "http", "limiter"])
    ap.add_argument("--n", type=int, help="prompts for the replica run (default 32) or requests for http (10,000)")
    ap.add_argument("--c", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import logging

    import ray

    t0 = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    print(f"ray.init: {time.monotonic() - t0:.1f}s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} "
          "cores", flush=True)
    if args.only in (None, "replicas"):
        replicas(args.n or 32, args.repeat)
    if args.only in (None, "http"):
        http(args.n or 10_000, args.c, args.repeat)
    if args.only in (None, "limiter"):
        limiter(3000, 1500)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
