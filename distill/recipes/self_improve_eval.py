"""Evaluation of each self-improvement iteration on a held-out split: greedy answers from the iteration's
student, then the verifier's pass rate with its Wilson 95% interval — or, without a verifier, a judge's win rate
against iteration 0's answers, each pair judged in both orders (a win needs both orders to agree; anything else
is a tie, counted as half a win)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from distill.engine.teacher import CallFailed, Teacher
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.recipes.self_improve_verify import Verifier, wilson

WINNER = re.compile(r"winner\s*[:=]?\s*\**\s*(A|B|tie)\b", re.IGNORECASE)


class EvalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="the held-out JSONL file (relative to the recipe)")
    field: str = "instruction"
    answer_field: str = Field("answer", description="the reference answer the verifier checks against")
    limit: int | None = Field(200, ge=1, description="held-out rows used (the first ones)")
    max_tokens: int | None = Field(None, ge=1, description="default: the sampling max_tokens")


def winner(reply: str) -> str | None:
    found = WINNER.findall(reply)
    return found[-1].lower() if found else None


async def answers(teacher: Teacher, prompts: list[list[dict[str, str]]], max_tokens: int | None
                  ) -> list[tuple[str, bool] | None]:
    """Greedy answers (text, truncated) to each prompt; None where the call failed."""
    params = teacher.params(temperature=0.0, top_p=None, n=1, max_tokens=max_tokens)

    async def one(messages: list[dict[str, str]]) -> tuple[str, bool] | None:
        try:
            c = await teacher.complete(messages, params)
        except CallFailed:
            return None
        return c.choices[0].text.strip(), c.choices[0].finish_reason == "length"

    return list(await asyncio.gather(*(one(m) for m in prompts)))


def pass_rate(verifier: Verifier, rows: list[InputRow], replies: list[tuple[str, bool] | None],
              answer_field: str) -> dict[str, Any]:
    passed = failed_calls = 0
    for row, reply in zip(rows, replies, strict=True):
        if reply is None:
            failed_calls += 1
            continue
        ref = row.source.get(answer_field)
        if verifier.check(reply[0], str(ref) if ref is not None else None, row.source):
            passed += 1
    total = len(rows) - failed_calls
    low, high = wilson(passed, total)
    return {"metric": "pass_rate", "passed": passed, "total": total, "failed_calls": failed_calls,
            "pass_rate": round(passed / total, 4) if total else None, "ci95": [low, high]}


async def win_rate(judge: Teacher, rows: list[InputRow], mine: list[tuple[str, bool] | None],
                   base: list[tuple[str, bool] | None], max_tokens: int | None) -> dict[str, Any]:
    """Iteration n's answers against iteration 0's, each pair judged greedily as (n, 0) and (0, n)."""
    params = judge.params(temperature=0.0, top_p=None, n=1, max_tokens=max_tokens)

    async def verdict(row: InputRow, a: str, b: str) -> str | None:
        prompt = [{"role": "user", "content": render("self_improve/compare.j2", instruction=row.instruction,
                                                     first=a, second=b)}]
        try:
            return winner((await judge.complete(prompt, params)).choices[0].text)
        except CallFailed:
            return None

    async def one(row: InputRow, x: tuple[str, bool] | None, y: tuple[str, bool] | None) -> str | None:
        if x is None or y is None:
            return None
        if x[0] == y[0]:
            return "tie"
        first, second = await asyncio.gather(verdict(row, x[0], y[0]), verdict(row, y[0], x[0]))
        if first == "a" and second == "b":
            return "win"
        if first == "b" and second == "a":
            return "loss"
        return "tie"

    results = await asyncio.gather(*(one(r, x, y) for r, x, y in zip(rows, mine, base, strict=True)))
    wins, losses, ties = (sum(1 for r in results if r == k) for k in ("win", "loss", "tie"))
    total = wins + losses + ties
    low, high = wilson(wins + ties // 2, total)  # ties as half wins (rounded down) for the interval
    return {"metric": "win_rate_vs_iteration_0", "wins": wins, "losses": losses, "ties": ties, "total": total,
            "win_rate": round((wins + ties / 2) / total, 4) if total else None, "ci95": [low, high]}
