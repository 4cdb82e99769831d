"""The bootstrap loop that self-instruct and Alpaca share: a sliding window of generation prompts whose replies
are read strictly in the order the prompts were made, until the target count is reached or `patience` prompts
in a row added nothing (a small teacher may never reach the target).

Why a window read in order, not rounds of prompts sent together: a round waits for its slowest reply while the
teacher idles. Here a new prompt goes out as soon as the oldest reply has been read, so `in_flight` requests are
always running. Reading in order keeps the run deterministic: whether and when prompt s is built depends only on
the replies read before it (at least 0 .. s - in_flight, whose instructions it may show), never on which reply
arrived first, and the novelty filter sees candidates in the same order every time. Near the target, prompts
are held back when those in flight should already reach it at the yield so far. The papers' code sent 5 prompts per batch and refreshed the pool between
batches; with `in_flight: 5` each prompt sees a pool at most as old as the oldest one a batch would have shown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from distill.engine.teacher import CallFailed
from distill.providers.base import Choice, Completion, GenerationParams
from distill.run.context import RunContext
from distill.run.folder import order_key

Messages = list[dict[str, str]]


@dataclass
class Window:
    """How many prompts run at once, when to stop, and the stage name failures are counted under."""
    stage: str
    in_flight: int
    patience: int
    target: int


async def bootstrap_window(ctx: RunContext, window: Window, params: GenerationParams,
                           prompt: Callable[[int], Messages], done: Callable[[], int],
                           handle: Callable[[Choice, int], list[Awaitable[Any]]]) -> int:
    """Send prompts until `done()` reaches the target or patience runs out; return how many were sent.

    `prompt(slot)` builds the slot-th prompt; `handle(choice, slot)` reads its reply and returns the work it
    started (quality-gate submissions), which runs alongside and is awaited before this returns."""
    sent: dict[int, asyncio.Future[Completion]] = {}
    jobs: list[asyncio.Future[Any]] = []
    read, idle = 0, 0  # replies read so far; how many of the last ones added nothing

    def may_send() -> bool:
        waiting, have = len(sent), done()
        if waiting >= window.in_flight or have >= window.target or idle + waiting >= window.patience:
            return False  # full, finished, or more in flight than patience could still use
        # at the end, stop when the replies in flight should already reach the target at the yield so far
        return not read or have + have / read * waiting < window.target

    try:
        while True:
            while may_send():
                slot = read + len(sent)
                sent[slot] = asyncio.ensure_future(ctx.teacher.complete(prompt(slot), params))
            if not sent:
                break
            before = done()
            try:
                reply = await sent.pop(read)
            except CallFailed as exc:
                ctx.fail(order_key(read), window.stage, {"prompt": read}, exc)
            else:
                jobs.extend(asyncio.ensure_future(job) for job in handle(reply.choices[0], read))
                jobs = _prune(jobs)
            read += 1
            idle = idle + 1 if done() == before else 0
            ctx.progress.advance(done() - before)
        await asyncio.gather(*jobs)
    finally:
        for future in [*sent.values(), *jobs]:
            future.cancel()
    return read


def _prune(jobs: list[asyncio.Future[Any]]) -> list[asyncio.Future[Any]]:
    """Drop finished jobs (re-raising a job's unexpected error), so a long run holds only the running ones."""
    running = []
    for job in jobs:
        if not job.done():
            running.append(job)
        elif job.exception() is not None:
            raise job.exception()  # type: ignore[misc]
    return running
