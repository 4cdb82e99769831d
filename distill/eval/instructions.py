"""The instruction-following figures of held-out answers (ifeval.py's constraints): the share of answers that meet
all their constraints and the share of constraints met, each with its Wilson interval. A row without constraints
is not counted; an answer whose call failed is left out as `failed_calls`."""

from __future__ import annotations

from typing import Any

from distill.eval.answers import Reply
from distill.eval.ifeval import Constraint, check_all
from distill.eval.stats import wilson


def followed(constraints: list[list[Constraint]], replies: list[Reply]) -> list[list[bool] | None]:
    """Per question: each constraint met or not; None when the question has none or its answer is missing."""
    return [check_all(reply[0], cs) if reply is not None and cs else None
            for cs, reply in zip(constraints, replies, strict=True)]


def if_rates(constraints: list[list[Constraint]], replies: list[Reply]) -> dict[str, Any]:
    results = followed(constraints, replies)
    failed = sum(1 for cs, r in zip(constraints, replies, strict=True) if cs and r is None)
    answered = [r for r in results if r is not None]
    prompts_ok = sum(1 for r in answered if all(r))
    met = sum(sum(r) for r in answered)
    total = sum(len(r) for r in answered)
    by_kind: dict[str, list[int]] = {}
    for cs, r in zip(constraints, results, strict=True):
        for c, ok in zip(cs, r or [], strict=False):
            counts = by_kind.setdefault(c.type, [0, 0])
            counts[0] += ok
            counts[1] += 1
    return {"metric": "instruction_following", "prompts": len(answered), "prompts_followed": prompts_ok,
            "prompt_rate": round(prompts_ok / len(answered), 4) if answered else None,
            "prompt_ci95": list(wilson(prompts_ok, len(answered))),
            "constraints": total, "constraints_met": met,
            "constraint_rate": round(met / total, 4) if total else None,
            "constraint_ci95": list(wilson(met, total)), "failed_calls": failed,
            "by_kind": {k: {"met": v[0], "total": v[1]} for k, v in sorted(by_kind.items())}}
