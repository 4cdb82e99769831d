"""Which of a question's traces to keep, and how hard the question was for the teacher.

`select` keeps every trace that passed (`all`, OpenThoughts' many answers per question), the shortest one not
known to be wrong (`shortest_correct`), or the first `k` of those in sample order (`k`). `difficulty` gives the
per-question figures each record's meta carries: the share of samples verified correct (s1's "what the model
fails"; None without verification) and the mean trace length (OpenThoughts' response-length signal), a judge's
1-10 rating when asked for (OpenThoughts' LLM difficulty rating), and a `bucket` — easy, medium or hard — from the
first of these that is known (`bucket`): what `min_difficulty` keeps questions by.
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


LEVELS = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Buckets:
    """Where easy ends and hard begins on each signal (the recipe's options; the defaults are ours)."""

    easy_trace_tokens: int = 256
    hard_trace_tokens: int = 1024


def bucket(share_correct: float | None, rating: float | None, mean_tokens: float | None, limits: Buckets
           ) -> tuple[str | None, str | None]:
    """(easy | medium | hard, the signal it came from), from the first signal known: the share of samples verified
    correct (all but a third or less wrong: easy; a third or less right: hard), the judge's 1-10 rating (1-3 easy,
    7-10 hard), the mean trace length (below `easy_trace_tokens` easy, from `hard_trace_tokens` hard). (None, None)
    when none is known (no trace came back)."""
    if share_correct is not None:
        level = "easy" if share_correct > 2 / 3 else "hard" if share_correct <= 1 / 3 else "medium"
        return level, "share_correct"
    if rating is not None:
        return ("easy" if rating <= 3 else "hard" if rating >= 7 else "medium"), "judge_rating"
    if mean_tokens is not None:
        level = ("easy" if mean_tokens < limits.easy_trace_tokens
                 else "hard" if mean_tokens >= limits.hard_trace_tokens else "medium")
        return level, "trace_tokens"
    return None, None


def at_least(level: str | None, floor: str | None) -> bool:
    """Whether a question of difficulty `level` is kept by `min_difficulty: floor` (none: every question)."""
    return floor is None or (level is not None and LEVELS.index(level) >= LEVELS.index(floor))


def difficulty(samples: int, passed: int, correct: int | None, lengths: list[int], rating: float | None = None,
               limits: Buckets = Buckets()) -> dict[str, Any]:
    """`samples` asked, `passed` the checks, `correct` among them (None: not verified), `lengths` (estimated
    tokens) of every trace the teacher returned, `rating` the judge's (None: not asked, or no readable rating)."""
    share = None if correct is None else round(correct / samples, 4)
    mean = round(sum(lengths) / len(lengths), 1) if lengths else None
    level, basis = bucket(share, rating, mean, limits)
    return {"samples": samples, "passed_checks": passed, "share_correct": share, "mean_trace_tokens": mean,
            "judge_rating": rating, "bucket": level, "basis": basis}
