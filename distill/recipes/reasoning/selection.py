"""Which of a question's traces to keep, and how hard the question was for the teacher.

`select` keeps every trace that passed (`all`, OpenThoughts' many answers per question), the shortest one not
known to be wrong (`shortest_correct`), or the first `k` of those in sample order (`k`). `difficulty` gives the
per-question figures each record's meta carries: the share of samples verified correct (s1's "what the model
fails"; None without verification) and the mean trace length (OpenThoughts' response-length signal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Candidate:
    sample: int
    tokens: int
    correct: bool | None  # None: not verified (no verifier, or no reference answer)


def select(candidates: list[Candidate], keep: str, k: int = 1) -> list[int]:
    """The samples kept, in sample order."""
    if keep == "all":
        return sorted(c.sample for c in candidates)
    pool = sorted((c for c in candidates if c.correct is not False), key=lambda c: c.sample)
    if keep == "shortest_correct":
        if not pool:
            return []
        return [min(pool, key=lambda c: (c.tokens, c.sample)).sample]
    if keep == "k":
        return [c.sample for c in pool[:k]]
    raise ValueError(f"keep: unknown selection {keep!r}")


def difficulty(samples: int, passed: int, correct: int | None, lengths: list[int]) -> dict[str, Any]:
    """`samples` asked, `passed` the checks, `correct` among them (None: not verified), `lengths` (estimated
    tokens) of every trace the teacher returned."""
    return {"samples": samples, "passed_checks": passed,
            "share_correct": None if correct is None else round(correct / samples, 4),
            "mean_trace_tokens": round(sum(lengths) / len(lengths), 1) if lengths else None}
