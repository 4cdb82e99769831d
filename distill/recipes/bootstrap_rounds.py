"""The bootstrap loop that self-instruct and Alpaca share: each round sends a few prompts together (each built
from a different sample of demonstrations), hands every reply to the recipe, and stops when the target count is
reached or `patience` rounds in a row added nothing (a small teacher may never reach the target).

Rounds are sequential on purpose: a round's prompts may show instructions accepted in earlier rounds, and the
novelty filter decides in a fixed order, so the same seed gives the same dataset."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from distill.engine.teacher import CallFailed
from distill.providers.base import Choice, GenerationParams
from distill.run.context import RunContext
from distill.run.folder import order_key

Messages = list[dict[str, str]]


@dataclass
class Rounds:
    """How many prompts per round, when to stop, and the stage name failures are counted under."""
    stage: str
    prompts_per_round: int
    patience: int
    target: int


async def bootstrap_rounds(ctx: RunContext, rounds: Rounds, params: GenerationParams,
                           prompt: Callable[[int, int], Messages], done: Callable[[], int],
                           handle: Callable[[Choice, int, int], list[Awaitable[Any]]]) -> int:
    """Run rounds until `done()` reaches the target or patience runs out; return the number of rounds.

    `prompt(round, k)` builds the k-th prompt of a round; `handle(choice, slot, round)` reads one reply (slot is its
    place among all prompts, for order keys) and returns the work it started (quality-gate submissions), which
    finishes before the next round begins."""
    rnd, idle = 0, 0
    while done() < rounds.target and idle < rounds.patience:
        prompts = [prompt(rnd, k) for k in range(rounds.prompts_per_round)]
        replies = await asyncio.gather(*(ctx.teacher.complete(p, params) for p in prompts), return_exceptions=True)
        before, jobs = done(), []
        for k, reply in enumerate(replies):
            slot = rnd * rounds.prompts_per_round + k
            if isinstance(reply, CallFailed):
                ctx.fail(order_key(slot), rounds.stage, {"round": rnd, "prompt": k}, reply)
                continue
            if isinstance(reply, BaseException):
                raise reply
            jobs.extend(handle(reply.choices[0], slot, rnd))
        await asyncio.gather(*jobs)
        idle = idle + 1 if done() == before else 0
        rnd += 1
        ctx.progress.advance(done() - before)
    return rnd
