"""The report's section on reasoning traces, for a run whose records hold a teacher's thinking (the reasoning
recipe, or any recipe with `keep_reasoning: true`): thinking and answer lengths in tokens (the report's own
word-and-punctuation token, lengths.py), how many of the traces the teacher returned failed each check (cut off,
looping, mixing languages...), correctness by difficulty bucket, and how many traces were kept per question.

Lengths and traces per question come from the accepted records (one pass, with the rest of the report); the
check shares and the difficulty buckets come from the manifest the reasoning recipe writes (`reasoning`,
`reasoning_difficulty`, the `check` stage's rejections), so they cover every trace, rejected ones included. A run
with no thinking in any record and no reasoning figures in its manifest has no section.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from distill.publish.reasoning_formats import thinking_of
from distill.report.lengths import count_tokens, summary
from distill.report.tally import Tally

CHECK_STAGE = "check"
CHECKS = ("truncated", "no_final_answer", "empty_reasoning", "too_long", "repetition_loop", "language_mix")
LEVELS = ("easy", "medium", "hard", "(none)")


class TraceStats:
    """What the section needs from the accepted records, gathered one row at a time."""

    def __init__(self) -> None:
        self.thinking = Tally()
        self.answers = Tally()
        self.without_thinking = 0
        self.per_question: Counter[str] = Counter()

    def add(self, row: dict[str, Any], prompt: str, response: str) -> None:
        thinking = thinking_of(row)
        if not thinking:
            self.without_thinking += 1
            return
        self.thinking.add(count_tokens(thinking))
        self.answers.add(count_tokens(response))
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        index = meta.get("index") if isinstance(meta, dict) else None
        self.per_question[f"#{index}" if isinstance(index, int) else prompt] += 1

    def report(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        counts = manifest.get("reasoning") or {}
        if not len(self.thinking) and not counts:
            return None
        out: dict[str, Any] = {"records_with_thinking": len(self.thinking),
                               "records_without_thinking": self.without_thinking,
                               "thinking_tokens": summary(self.thinking), "answer_tokens": summary(self.answers)}
        traces = int(counts.get("traces", 0))
        if traces:
            rejected = ((manifest.get("stages") or {}).get(CHECK_STAGE) or {}).get("rejected") or {}
            out["traces"] = traces
            out["checks"] = [{"check": c, "traces": int(rejected.get(c, 0)),
                              "share": round(int(rejected.get(c, 0)) / traces, 4)} for c in CHECKS]
            out["passed_checks"] = int(counts.get("passed_checks", 0))
        out["difficulty"] = _buckets(manifest.get("reasoning_difficulty") or {})
        out["kept_per_question"] = self._kept(counts)
        return out

    def _kept(self, counts: dict[str, Any]) -> dict[str, Any]:
        """How many questions got 0, 1, 2... kept traces (0: the questions the recipe counted that have none)."""
        spread = Counter(self.per_question.values())
        questions = int(counts.get("questions", 0))
        if questions:
            spread[0] = max(0, questions - len(self.per_question))
        total = sum(spread.values())
        kept = sum(n * q for n, q in spread.items())
        return {"questions": total, "mean": round(kept / total, 3) if total else None,
                "spread": [{"kept": n, "questions": spread[n]} for n in sorted(spread)]}


def _buckets(tally: dict[str, Any]) -> list[dict[str, Any]]:
    """Per difficulty bucket: questions, samples, samples of the questions that were verified (`verify:` and a
    reference answer), the share of those verified correct (a trace that failed a check counts as not correct, as
    in each record's meta.difficulty.share_correct), traces kept."""
    rows = []
    for level in LEVELS:
        questions = int(tally.get(f"{level}.questions", 0))
        if not questions:
            continue
        verified, correct = int(tally.get(f"{level}.verified", 0)), int(tally.get(f"{level}.correct", 0))
        rows.append({"difficulty": level, "questions": questions, "samples": int(tally.get(f"{level}.samples", 0)),
                     "verified": verified, "share_correct": round(correct / verified, 4) if verified else None,
                     "kept": int(tally.get(f"{level}.kept", 0))})
    return rows
