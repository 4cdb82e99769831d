"""Tokens/s of the embedded SmolLM2 worker when the CPUs are shared, by OpenMP wait policy and thread count.

    python bench/embedded_contention.py                 # idle, then beside 2 busy processes
    python bench/embedded_contention.py --busy 0 1 2 4  # choose the loads

llama.cpp meets its threads at a barrier after every operation. With OpenMP's default (ACTIVE) policy a waiting
thread spins; when another process holds a CPU the awaited thread is not running and each barrier costs a time
slice. distill's worker runs with OMP_WAIT_POLICY=PASSIVE (llama_process.worker_env). Each cell is the median of
`--repeat` generations of `--tokens` tokens through the real worker process (distill/providers/llama_process.py),
cells interleaved so a drifting load touches them alike; `--timeout` caps one generation (printed as "> T").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ONE = r"""
import sys, time
from distill.providers.local import packaged_gguf
from distill.providers.llama_process import LlamaProcess
threads, tokens = int(sys.argv[1]), int(sys.argv[2])
worker = LlamaProcess(packaged_gguf(), threads, 2048, "bench")
worker.call("threads")  # loaded
messages = [{"role": "user", "content": "Tell a long story about a fox and a crow."}]
t0 = time.perf_counter()
out = worker.call("chat", messages, dict(max_tokens=tokens, temperature=0.0, seed=1))
print(out["usage"]["completion_tokens"] / (time.perf_counter() - t0))
worker.close()
"""


def one(policy: str, threads: int, tokens: int, timeout: float) -> float | None:
    env = {**os.environ, "OMP_WAIT_POLICY": policy, "PYTHONPATH": str(ROOT)}
    try:
        out = subprocess.run([sys.executable, "-c", _ONE, str(threads), str(tokens)], capture_output=True,
                             text=True, env=env, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    return float(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--busy", type=int, nargs="+", default=[0, 2], help="busy processes beside the worker")
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    cells = [(policy, threads) for threads in (1, 2) for policy in ("ACTIVE", "PASSIVE")]
    print(f"cpus {os.cpu_count()}, {args.tokens} tokens per generation, tokens/s (median of {args.repeat})")
    for busy in args.busy:
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.5)
            found: dict[tuple[str, int], list[float | None]] = {cell: [] for cell in cells}
            for _ in range(args.repeat):
                for cell in cells:
                    found[cell].append(one(*cell, args.tokens, args.timeout))
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        for (policy, threads), values in found.items():
            done = [v for v in values if v is not None]
            shown = f"{statistics.median(done):6.1f}" if len(done) == len(values) else f"> {args.timeout:.0f} s"
            print(f"busy {busy}  threads {threads}  {policy:7}  {shown}")


if __name__ == "__main__":
    main()
