"""A verifier's pass rate over held-out answers, with its Wilson interval. An answer whose call failed is left out
(`failed_calls`); an answer whose check raises does not pass (run/reply_guard.py)."""

from __future__ import annotations

from typing import Any

from distill.eval.answers import Reply
from distill.eval.stats import wilson
from distill.eval.verifiers import Verifier
from distill.io.inputs import InputRow
from distill.quality.replies import UnreadableReply
from distill.run.reply_guard import reading


def passes(verifier: Verifier, rows: list[InputRow], replies: list[Reply], answer_field: str) -> list[bool | None]:
    """Per question: passed, failed, or None (no answer: its call failed)."""
    out: list[bool | None] = []
    for row, reply in zip(rows, replies, strict=True):
        if reply is None:
            out.append(None)
            continue
        ref = row.source.get(answer_field)
        try:
            with reading(reply[0]):
                ok = verifier.check(reply[0], str(ref) if ref is not None else None, row.source)
        except UnreadableReply:
            ok = False
        out.append(bool(ok))
    return out


def rate(results: list[bool | None]) -> dict[str, Any]:
    """The pass rate of per-question results (None left out as failed calls), with its 95% interval."""
    failed_calls = results.count(None)
    passed = sum(1 for r in results if r)
    total = len(results) - failed_calls
    low, high = wilson(passed, total)
    return {"metric": "pass_rate", "passed": passed, "total": total, "failed_calls": failed_calls,
            "pass_rate": round(passed / total, 4) if total else None, "ci95": [low, high]}


def pass_rate(verifier: Verifier, rows: list[InputRow], replies: list[Reply], answer_field: str) -> dict[str, Any]:
    return rate(passes(verifier, rows, replies, answer_field))
