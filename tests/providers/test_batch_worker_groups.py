"""Dynamic batching with group keys: payloads held back while another group was served come back as one batch
of their group, not one at a time (the transformers provider groups prompts by params and padded length)."""

from __future__ import annotations

import asyncio
import threading

from distill.providers.batch_worker import BatchWorker


def test_payloads_held_back_are_batched_with_their_group():
    started, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def run_batch(payloads: list[str]) -> list[str]:
        batches.append(payloads)
        started.set()
        release.wait(10)
        return [p.lower() for p in payloads]

    worker = BatchWorker(run_batch, max_batch=8)

    async def go() -> list[str]:
        first = asyncio.ensure_future(worker.submit("A0", group="a"))
        while not started.is_set():  # the worker is busy with A0 while the rest arrive
            await asyncio.sleep(0.01)
        names = ["B1", "A1", "B2", "A2", "B3", "A3"]
        rest = [asyncio.ensure_future(worker.submit(n, group=n[0].lower())) for n in names]
        await asyncio.sleep(0.05)
        release.set()
        return list(await asyncio.gather(first, *rest))

    results = asyncio.run(go())
    worker.close()
    assert results == ["a0", "b1", "a1", "b2", "a2", "b3", "a3"]
    assert batches == [["A0"], ["B1", "B2", "B3"], ["A1", "A2", "A3"]]


def test_a_batch_function_returning_too_few_results_fails_every_caller_of_that_batch():
    """Not a caller left waiting forever for a result that never comes: each one gets the error."""
    release = threading.Event()

    def run_batch(payloads: list[str]) -> list[str]:
        release.wait(10)
        return [p.lower() for p in payloads][:-1] if len(payloads) > 1 else [p.lower() for p in payloads]

    worker = BatchWorker(run_batch, max_batch=8)

    async def go() -> list[object]:
        first = asyncio.ensure_future(worker.submit("A0", group="a"))  # alone in its batch: answered
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(worker.submit(n, group="a")) for n in ("A1", "A2", "A3")]
        await asyncio.sleep(0.05)
        release.set()
        return list(await asyncio.wait_for(asyncio.gather(first, *rest, return_exceptions=True), 10))

    results = asyncio.run(go())
    worker.close()
    assert results[0] == "a0"
    assert all(isinstance(r, ValueError) and "zip()" in str(r) for r in results[1:]), results
