"""Throughput of distill's engine against a fake teacher with latency L + U(0, J), at concurrency C.

Prints achieved requests/s, the limit C / (L + J/2), their ratio, and client CPU per request, for distill's
engine (the respond recipe end to end: cache commit, record write, manifest) and, with --compare, for a bare
aiohttp client and the openai SDK on the same server. Medians of --repeat runs.

    python bench/throughput.py                    # the two targets of the foundation issue
    python bench/throughput.py --n 5000 --c 128 --compare
    python bench/throughput.py --sigma 0.6             # long-tailed latency, C=128, target >= 0.90
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from _common import cleanup, cpu_seconds, fake_teacher, median, pin, run_engine, tmpdir, write_inputs

TARGETS = [(5000, 128, 0.95), (10000, 512, 0.80)]


def engine_once(url: str, n: int, c: int, transport: str, tag: str) -> tuple[float, float]:
    folder = tmpdir()
    try:
        inp = write_inputs(folder, n, tag)
        cpu0 = cpu_seconds()
        manifest = run_engine(url, inp, folder / "out", c, transport=transport)
        cpu = cpu_seconds() - cpu0
        assert manifest["counts"]["accepted"] == n, manifest["counts"]
        return n / manifest["wall_seconds"], cpu / n
    finally:
        cleanup(folder)


async def _bare_aiohttp(url: str, n: int, c: int) -> float:
    import aiohttp
    import orjson

    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def one(i: int) -> None:
            async with sem:
                body = {"model": "bench", "messages": [{"role": "user", "content": f"bare {i}"}], "max_tokens": 16}
                async with session.post(url + "/chat/completions", data=orjson.dumps(body),
                                        headers={"Content-Type": "application/json"}) as r:
                    orjson.loads(await r.read())

        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.monotonic() - t0)


async def _openai_sdk(url: str, n: int, c: int) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, http_client=openai.DefaultAioHttpClient())
    sem = asyncio.Semaphore(c)

    async def one(i: int) -> None:
        async with sem:
            await client.chat.completions.create(model="bench", max_tokens=16,
                                                 messages=[{"role": "user", "content": f"sdk {i}"}])

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    rate = n / (time.monotonic() - t0)
    await client.close()
    return rate


def _timed(client: Any, url: str, n: int, c: int) -> tuple[float, float]:
    cpu0 = cpu_seconds()
    rate = asyncio.run(client(url, n, c))
    return rate, (cpu_seconds() - cpu0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int)
    ap.add_argument("--c", type=int)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--jitter", type=float, default=0.2)
    ap.add_argument("--sigma", type=float, default=0.0,
                    help="lognormal latency with median --latency and this sigma (0.6 gives p99/p50 ~ 4)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--transport", default="http", choices=["http", "sdk"])
    ap.add_argument("--compare", action="store_true", help="also measure a bare aiohttp client and the openai SDK")
    args = ap.parse_args()
    cases = [(args.n, args.c, None)] if args.n and args.c else TARGETS
    if args.sigma:
        import math

        mean = args.latency * math.exp(args.sigma ** 2 / 2)  # a sliding window pays the mean latency
        cases = [(args.n or 5000, args.c or 128, 0.90)]
    else:
        mean = args.latency + args.jitter / 2
    pin(0)
    with fake_teacher(latency=args.latency, jitter=0.0 if args.sigma else args.jitter, sigma=args.sigma) as server:
        for n, c, target in cases:
            limit = c / mean
            runs = [engine_once(server.url, n, c, args.transport, f"{k}-") for k in range(args.repeat)]
            rate = median([r for r, _ in runs])
            cpu_ms = median([cpu for _, cpu in runs]) * 1000
            met = "" if target is None else ("met" if rate / limit >= target else "MISSED")
            verdict = "" if target is None else f"  target >= {target:.2f}: {met}"
            print(f"distill ({args.transport})  N={n} C={c}: {rate:7.1f} req/s  limit {limit:7.1f}  "
                  f"ratio {rate / limit:.3f}  client CPU {cpu_ms:.3f} ms/req{verdict}", flush=True)
            if args.compare:
                for label, client in (("bare aiohttp      ", _bare_aiohttp), ("openai SDK+aiohttp", _openai_sdk)):
                    measured = [_timed(client, server.url, n, c) for _ in range(args.repeat)]
                    rate, cpu_ms = median([r for r, _ in measured]), median([c for _, c in measured]) * 1000
                    print(f"{label}  N={n} C={c}: {rate:7.1f} req/s  ratio {rate / limit:.3f}  "
                          f"client CPU {cpu_ms:.3f} ms/req (HTTP only: no cache, no records)", flush=True)


if __name__ == "__main__":
    main()
