"""A judge's pairwise win rate of one model's answers against a baseline's, each pair judged greedily in both
orders (MT-Bench's protocol, Zheng et al. 2023, FastChat's `play_a_match_pair`): a win or a loss counts only when
both orders agree; a tie in both orders, and orders that disagree (the verdict followed the position; counted as
`inconsistent`), are ties, and a tie is half a win (AlpacaEval's rule); identical answers tie without a call.
A verdict that cannot be read (or whose call failed) is left out of the rate
and counted as `unjudged`, as the quality gate never turns an unreadable judge reply into a result; a pair
missing an answer (its call failed) is left out as `failed_calls`. The Wilson interval is taken over the same
half-counted ties, so it holds the rate and mirrors when the two sides swap."""

from __future__ import annotations

import asyncio
from typing import Any

from distill.engine.call_failure import CallFailed
from distill.engine.teacher import Teacher
from distill.eval.answers import Reply
from distill.eval.stats import wilson
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.quality.replies import Unparseable, UnreadableReply, parse_winner
from distill.run.reply_guard import reading


def winner(reply: str) -> str | None:
    """"a", "b" or "tie" from the judge's reply, read by the quality gate's pairwise parser (JSON, "Winner: X",
    [[X]]; chatty, markdown and oversized replies covered by tests/reply_styles), or None when it names none."""
    try:
        with reading(reply):
            return parse_winner(reply)[0].lower()
    except (Unparseable, UnreadableReply):  # (whatever the reader raises: run/reply_guard.py)
        return None


async def outcomes(judge: Teacher, rows: list[InputRow], mine: list[Reply], base: list[Reply],
                   max_tokens: int | None, template: str) -> list[str | None]:
    """Per question: win, loss, tie, inconsistent, unjudged, or None (an answer is missing)."""
    params = judge.params(temperature=0.0, top_p=None, n=1, max_tokens=max_tokens)

    async def verdict(row: InputRow, a: str, b: str) -> str | None:
        prompt = [{"role": "user", "content": render(template, instruction=row.instruction, first=a, second=b)}]
        try:
            return winner((await judge.complete(prompt, params)).choices[0].text)
        except CallFailed:
            return None

    async def one(row: InputRow, x: Reply, y: Reply) -> str | None:
        if x is None or y is None:
            return None
        if x[0] == y[0]:
            return "tie"
        first, second = await asyncio.gather(verdict(row, x[0], y[0]), verdict(row, y[0], x[0]))
        if first is None or second is None:
            return "unjudged"
        return {("a", "b"): "win", ("b", "a"): "loss", ("tie", "tie"): "tie"}.get((first, second), "inconsistent")

    return list(await asyncio.gather(*(one(r, x, y) for r, x, y in zip(rows, mine, base, strict=True))))


def tally(results: list[str | None], metric: str) -> dict[str, Any]:
    wins, losses, agreed, inconsistent, unjudged = (sum(1 for r in results if r == k) for k in
                                                    ("win", "loss", "tie", "inconsistent", "unjudged"))
    ties = agreed + inconsistent
    total = wins + losses + ties
    score = wins + ties / 2
    low, high = wilson(score, total)
    return {"metric": metric, "wins": wins, "losses": losses, "ties": ties,
            "inconsistent": inconsistent, "unjudged": unjudged, "failed_calls": results.count(None),
            "total": total, "win_rate": round(score / total, 4) if total else None, "ci95": [low, high]}


async def win_rate(judge: Teacher, rows: list[InputRow], mine: list[Reply], base: list[Reply],
                   max_tokens: int | None, *, template: str = "self_improve/compare.j2",
                   metric: str = "win_rate_vs_iteration_0") -> dict[str, Any]:
    """`mine` against `base`, each pair judged as (mine, base) and (base, mine)."""
    return tally(await outcomes(judge, rows, mine, base, max_tokens, template), metric)
