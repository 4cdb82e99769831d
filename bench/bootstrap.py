"""Prompts/s of the self-instruct / Alpaca bootstrap loop against a fake teacher with long-tailed latency.

The loop's prompts depend on the pool that earlier replies built, and replies are read in prompt order so the
dataset never depends on arrival order. This measures what that costs: the Alpaca recipe end to end, every
reply adding nothing (so `patience` decides how many prompts go out), at `in_flight` W with the default pool
lag of 4 x W, against
* the physical limit W / mean latency (every slot always busy), and
* lock-step batches of W (the papers' code: send W, wait for all W), simulated from the same latency
  distribution: W / E[max of W latencies].

    python bench/bootstrap.py                  # W = 5 (the papers' batch) and 32, lognormal sigma 0.6
"""

from __future__ import annotations

import argparse
import math
import random

from _common import ROOT, cleanup, fake_teacher, median, pin, tmpdir


def run_once(url: str, n: int, w: int, seed: int) -> float:
    from distill.config import RunConfig
    from distill.run.runner import execute

    folder = tmpdir()
    try:
        cfg = RunConfig.model_validate({
            "recipe": "alpaca", "name": "bench", "seed": seed, "num": 10 ** 6,
            "teacher": {"provider": "openai", "model": "bench", "base_url": url, "max_concurrency": w},
            "options": {"seeds": str(ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"), "in_flight": w,
                        "patience": n},
            "out": str(folder / "out")})
        manifest = execute(cfg, progress=False).manifest
        sent = manifest["alpaca"]["prompts"]
        assert sent == n, sent
        return n / manifest["wall_seconds"]
    finally:
        cleanup(folder)


def lockstep(w: int, median_latency: float, sigma: float, rounds: int = 20000) -> float:
    rng = random.Random(7)
    mean_max = sum(max(median_latency * math.exp(rng.gauss(0, sigma)) for _ in range(w))
                   for _ in range(rounds)) / rounds
    return w / mean_max


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=0, help="prompts per run (default 80 x W: past start-up and drain)")
    ap.add_argument("--w", type=int, nargs="+", default=[5, 32], help="in_flight values")
    ap.add_argument("--latency", type=float, default=0.2, help="median latency, seconds")
    ap.add_argument("--sigma", type=float, default=0.6)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pin(0)
    mean = args.latency * math.exp(args.sigma ** 2 / 2)
    rules = [{"match": r"Instruction:$", "reply": "nothing to add"}]
    print(f"bootstrap loop (Alpaca), {args.n or '80 x W'} prompts, lognormal latency median {args.latency}s "
          f"sigma {args.sigma}"
          f" (mean {mean:.3f}s), medians of {args.repeat}")
    print(f"{'W':>4} {'prompts/s':>10} {'limit W/mean':>13} {'ratio':>6} {'lock-step batches':>18} {'vs batches':>10}")
    with fake_teacher(latency=args.latency, sigma=args.sigma, rules=rules) as server:
        for w in args.w:
            n = args.n or 80 * w
            rates = [run_once(server.url, n, w, seed) for seed in range(args.repeat)]
            rate, limit, batches = median(rates), w / mean, lockstep(w, args.latency, args.sigma)
            print(f"{w:>4} {rate:>10.1f} {limit:>13.1f} {rate / limit:>6.3f} {batches:>18.1f} {rate / batches:>9.2f}x")


if __name__ == "__main__":
    main()
