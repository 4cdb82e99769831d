"""Tokens/s of the embedded SmolLM2 teacher under different llama.cpp builds, and the worker process's overhead.

    python bench/embedded_build.py                          # the installed llama-cpp-python
    python bench/embedded_build.py --build native=/tmp/native_t --build portable=/tmp/portable_t

A `--build NAME=DIR` is a `pip install --no-deps --target DIR llama_cpp_python-*.whl` of one build (e.g. made with
`CMAKE_ARGS="-DGGML_NATIVE=OFF"` or without it); each is measured in a fresh subprocess with DIR first on the path,
interleaved over `--repeat` rounds so that a busy machine slows every build alike. Printed per build: prompt
evaluation and generation tokens/s (medians over rounds; greedy, `--tokens` generated per prompt, `--threads`
threads), and the CPU features the build was compiled with.

`--worker` measures instead what the worker process (distill/providers/llama_process.py) costs per call against
calling llama.cpp in the same process, with the installed build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [f"Write two sentences about the number {i} and why someone might like it." for i in range(8)]

_ONE_BUILD = r"""
import json, sys, time
from distill.providers.local import packaged_gguf
from llama_cpp import Llama, llama_print_system_info
tokens, threads = int(sys.argv[1]), int(sys.argv[2])
prompts = json.loads(sys.argv[3])
llm = Llama(model_path=str(packaged_gguf()), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False,
            seed=0)
llm.create_completion("warm up", max_tokens=4, temperature=0)
prompt_tokens = prompt_time = gen_tokens = gen_time = 0.0
for p in prompts:
    ids = llm.tokenize(p.encode())
    llm.reset()
    t0 = time.perf_counter(); llm.eval(ids); prompt_time += time.perf_counter() - t0; prompt_tokens += len(ids)
    t0 = time.perf_counter()
    for _ in range(tokens):
        tok = llm.sample(temp=0)
        llm.eval([tok])
    gen_time += time.perf_counter() - t0; gen_tokens += tokens
print(json.dumps({"prompt_tps": prompt_tokens / prompt_time, "gen_tps": gen_tokens / gen_time,
                  "features": llama_print_system_info().decode().strip()}))
"""


def one_build(target: str | None, tokens: int, threads: int) -> dict[str, float | str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (target, str(ROOT), env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-c", _ONE_BUILD, str(tokens), str(threads), json.dumps(PROMPTS)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def builds(args: argparse.Namespace) -> None:
    named = dict(b.split("=", 1) for b in args.build) or {"installed": ""}
    runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in named}
    for _ in range(args.repeat):
        for name, target in named.items():
            runs[name].append(one_build(target or None, args.tokens, args.threads))
    print(f"SmolLM2-135M-Instruct Q4_1, {args.threads} thread(s), {len(PROMPTS)} prompts x {args.tokens} greedy "
          f"tokens, median of {args.repeat} interleaved rounds, load average {os.getloadavg()[0]:.1f}")
    for name, results in runs.items():
        p = statistics.median(float(r["prompt_tps"]) for r in results)
        g = statistics.median(float(r["gen_tps"]) for r in results)
        print(f"  {name:10s} prompt {p:8.1f} tok/s   generation {g:7.1f} tok/s   [{results[0]['features']}]")


def worker(args: argparse.Namespace) -> None:
    from distill.providers.llama_process import LlamaProcess
    from distill.providers.local import packaged_gguf

    proc = LlamaProcess(packaged_gguf(), args.threads, 2048, "bench")
    t0 = time.perf_counter()
    proc.call("threads")
    start = time.perf_counter() - t0
    kwargs = {"max_tokens": 1, "temperature": 0, "seed": 0}
    t0 = time.perf_counter()
    for _ in range(200):
        proc.call("threads")
    rtt = (time.perf_counter() - t0) / 200
    t0 = time.perf_counter()
    for p in PROMPTS:
        proc.call("chat", [{"role": "user", "content": p}], kwargs)
    per_call = (time.perf_counter() - t0) / len(PROMPTS)
    proc.close()
    print(f"worker start (spawn + load the model): {start:.2f} s; round trip of an empty call: {rtt * 1e3:.3f} ms; "
          f"a 1-token chat call: {per_call * 1e3:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    worker(args) if args.worker else builds(args)


if __name__ == "__main__":
    main()
