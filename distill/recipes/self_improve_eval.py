"""Evaluation of each self-improvement iteration on a held-out split: greedy answers from the iteration's
student, then the verifier's pass rate with its Wilson 95% interval — or, without a verifier, a judge's win rate
against iteration 0's answers.

The win rate follows MT-Bench's pairwise protocol (Zheng et al. 2023, FastChat's `play_a_match_pair`) against
position bias: each pair is judged in both orders, and a win or a loss counts only when both orders agree on the
same answer. A tie in both orders, and orders that disagree (the verdict followed the position, not the
content; counted as `inconsistent`), are ties, and a tie is half a win (AlpacaEval's rule); identical answers tie
without a call. A pair whose verdict could not be read in one order or both (or whose judge call failed) is left
out of the rate and counted as `unjudged`, as the quality gate never turns an unreadable judge reply into a
result; a pair missing an answer (its call failed) is left out as `failed_calls`.
The Wilson interval is taken over the same half-counted ties, so it holds the rate and mirrors when the two
sides swap."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from distill.engine.call_failure import CallFailed
from distill.engine.teacher import Teacher
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.quality.replies import Unparseable, UnreadableReply, parse_winner
from distill.recipes.self_improve_verify import Verifier, wilson
from distill.run.reply_guard import reading


class EvalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="the held-out JSONL file (relative to the recipe)")
    field: str = "instruction"
    answer_field: str = Field("answer", description="the reference answer the verifier checks against")
    limit: int | None = Field(200, ge=1, description="held-out rows used (the first ones)")
    max_tokens: int | None = Field(None, ge=1, description="default: the sampling max_tokens")


def winner(reply: str) -> str | None:
    """"a", "b" or "tie" from the judge's reply, read by the quality gate's pairwise parser (JSON, "Winner: X",
    [[X]]; chatty, markdown and oversized replies covered by tests/reply_styles), or None when it names none."""
    try:
        with reading(reply):
            return parse_winner(reply)[0].lower()
    except (Unparseable, UnreadableReply):  # (whatever the reader raises: run/reply_guard.py)
        return None


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
        try:
            with reading(reply[0]):
                ok = verifier.check(reply[0], str(ref) if ref is not None else None, row.source)
        except UnreadableReply:
            ok = False  # an answer whose check raises does not pass (run/reply_guard.py)
        passed += ok
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
        if first is None or second is None:
            return "unjudged"
        return {("a", "b"): "win", ("b", "a"): "loss", ("tie", "tie"): "tie"}.get((first, second), "inconsistent")

    results = await asyncio.gather(*(one(r, x, y) for r, x, y in zip(rows, mine, base, strict=True)))
    wins, losses, agreed, inconsistent, unjudged = (sum(1 for r in results if r == k) for k in
                                                    ("win", "loss", "tie", "inconsistent", "unjudged"))
    ties = agreed + inconsistent
    total = wins + losses + ties
    score = wins + ties / 2
    low, high = wilson(score, total)
    return {"metric": "win_rate_vs_iteration_0", "wins": wins, "losses": losses, "ties": ties,
            "inconsistent": inconsistent, "unjudged": unjudged, "failed_calls": results.count(None),
            "total": total, "win_rate": round(score / total, 4) if total else None, "ci95": [low, high]}
