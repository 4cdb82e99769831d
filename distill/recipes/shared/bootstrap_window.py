"""The bootstrap loop that self-instruct and Alpaca share: a sliding window of generation prompts whose replies
are read strictly in the order the prompts were made, until the target count is reached or `patience` prompts
in a row added nothing (a small teacher may never reach the target).

Why a window read in order, not rounds of prompts sent together: a round waits for its slowest reply while the
teacher idles. Here `in_flight` requests are always running. Reading in order keeps the run deterministic:
prompt s is built right after reply s - lag has been read (sooner only at the start), so it shows exactly the
instructions replies 0 .. s - lag added, never depending on which reply arrived first, and the novelty filter
sees candidates in the same order every time. The lag lets requests behind a slow one keep the teacher busy;
at lag = in_flight a slow reply soon stalls the window (0.65 of the limit at 5 in flight, lognormal latency),
at 4 x in_flight it does not (bench/bootstrap.py). Near the target, prompts are held back when those in flight
should already reach it at the yield so far; once it is reached, prompts not yet sent are dropped and replies
still in flight are received into the cache (paid for, so kept for a run with a larger target) but not read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from distill.providers.base import Choice, Completion, GenerationParams
from distill.run.context import RunContext
from distill.run.folder import order_key
from distill.run.reply_guard import unreadable

Messages = list[dict[str, str]]


@dataclass
class Window:
    """How many prompts run at once and may be made ahead of the replies read, when to stop, and the stage name
    failures are counted under."""
    stage: str
    in_flight: int
    lag: int
    patience: int
    target: int


async def bootstrap_window(ctx: RunContext, window: Window, params: GenerationParams,
                           prompt: Callable[[int], Messages], done: Callable[[], int],
                           handle: Callable[[Choice, int], list[Awaitable[Any]]],
                           again: Callable[[Messages, Completion], GenerationParams | None] | None = None) -> int:
    """Send prompts until `done()` reaches the target or patience runs out; return how many replies were read.

    `prompt(slot)` builds the slot-th prompt; `handle(choice, slot)` reads its reply and returns the work it
    started (quality-gate submissions), which runs alongside and is awaited before this returns; it runs inside
    the reply guard (`ctx.reading`): what it raises rejects that reply under the window's stage.
    `again(messages, reply)`, when given, may return other parameters to ask the same prompt once more with (a
    reply the recipe cannot use as it came, such as a lead-in cut off by a stop sequence); the second reply is the
    one read."""
    ctx.progress.phase("bootstrap", window.target)  # the bar counts new items toward the target
    sent: dict[int, asyncio.Future[Completion] | None] = {}  # None: made, not cached, not launched yet
    unstarted: dict[int, Messages] = {}
    jobs: list[asyncio.Future[Any]] = []
    read, idle = 0, 0  # replies read so far; how many of the last ones added nothing
    slots = asyncio.Semaphore(window.in_flight)  # FIFO: the oldest prompt made goes out first
    started: set[int] = set()  # prompts that got a slot (sent)

    def start(slot: int, messages: Messages) -> asyncio.Future[Completion] | None:
        hit = ctx.teacher.cached(messages, params)
        retry = ask_again(messages, hit) if hit is not None else None
        if retry is not None:
            hit = ctx.teacher.cached(messages, retry)
        if hit is not None:  # costs nothing and takes no slot
            future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
            future.set_result(hit)
            return future
        unstarted[slot] = messages
        return None

    def ask_again(messages: Messages, reply: Completion) -> GenerationParams | None:
        """`again(messages, reply)`; a reply whose reading raises is not asked again: `handle` reads it as it
        came, inside the reply guard, and that rejects it (fresh or cached alike)."""
        if again is None:
            return None
        try:
            return again(messages, reply)
        except Exception as exc:
            if unreadable(exc, "") is None:
                raise
            return None

    def launch() -> None:
        """A prompt the cache cannot answer is launched only when the reader must wait for a reply that is not
        there (as a task would first run then anyway): on a re-run of a finished run every reply it reads is
        cached, so it reaches the target without waiting and nothing is sent. (Launched as soon as made, the
        prompts made ahead of the reader went out through the free slots, past those the first run sent, and
        every re-run paid for a few more.)"""
        for slot, messages in unstarted.items():
            sent[slot] = asyncio.ensure_future(call(slot, messages))
        unstarted.clear()

    async def call(slot: int, messages: Messages) -> Completion:
        async with slots:
            started.add(slot)
            reply = await ctx.teacher.complete(messages, params)
            retry = ask_again(messages, reply)
            return reply if retry is None else await ctx.teacher.complete(messages, retry)

    def may_send() -> bool:
        waiting, have = len(sent), done()
        if waiting >= max(window.lag, window.in_flight) or have >= window.target or idle + waiting >= window.patience:
            return False  # full, finished, or more in flight than patience could still use
        if not read:  # no yield known yet: one request per slot
            return waiting < window.in_flight
        # near the end, hold back when the replies in flight should already reach the target at the yield so far
        return have + have / read * waiting < window.target

    try:
        while True:
            while may_send():
                slot = read + len(sent)
                sent[slot] = start(slot, prompt(slot))
            if not sent:
                break
            before = done()
            if sent[read] is None or not sent[read].done():  # type: ignore[union-attr]
                launch()
            future = sent.pop(read)
            assert future is not None
            reply = await ctx.call(order_key(read), window.stage, {"prompt": read}, future)
            if reply is not None:
                with ctx.reading(order_key(read), window.stage, {"prompt": read}, reply.choices[0].text) as reading:
                    handled = handle(reply.choices[0], read)  # what the reader raises rejects this reply
                if not reading.stopped:
                    jobs.extend(asyncio.ensure_future(job) for job in handled)
                jobs = _prune(jobs)
            read += 1
            idle = idle + 1 if done() == before else 0
            ctx.progress.advance(done() - before)
            if done() >= window.target:
                break  # later replies are not read (a received one stays cached for a run with a larger target)
        await asyncio.gather(*jobs)
        launched = {slot: f for slot, f in sent.items() if f is not None}
        for slot, future in launched.items():
            if slot not in started:
                future.cancel()  # never sent: costs nothing
        await asyncio.gather(*launched.values(), return_exceptions=True)  # sent ones are paid for: keep answers
    finally:
        for future in [*sent.values(), *jobs]:
            if future is not None:
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
