"""A model's answers to held-out prompts: greedy (temperature 0), one per prompt, through the Teacher — so every
answer is cached and an evaluation run again asks nothing."""

from __future__ import annotations

import asyncio

from distill.engine.call_failure import CallFailed
from distill.engine.teacher import Teacher

Reply = tuple[str, bool] | None  # (text, cut off at max_tokens), or None where the call failed


async def answers(teacher: Teacher, prompts: list[list[dict[str, str]]], max_tokens: int | None) -> list[Reply]:
    """Greedy answers (text, truncated) to each prompt; None where the call failed."""
    params = teacher.params(temperature=0.0, top_p=None, n=1, max_tokens=max_tokens)

    async def one(messages: list[dict[str, str]]) -> Reply:
        try:
            c = await teacher.complete(messages, params)
        except CallFailed:
            return None
        return c.choices[0].text.strip(), c.choices[0].finish_reason == "length"

    return list(await asyncio.gather(*(one(m) for m in prompts)))
