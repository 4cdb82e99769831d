"""How sure a figure is: the Wilson 95% interval of a rate, and for two models answering the same questions, the
paired difference of their pass rates with Newcombe's interval and the exact McNemar test (a sign test on the
questions only one of them passes)."""

from __future__ import annotations

import math
from typing import Any

Z95 = 1.959964


def _wilson(passed: float, total: int, z: float = Z95) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(passed: float, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score 95% interval of a pass rate (well-behaved at 0, 1 and small n). `passed` may hold
    halves (a win rate's ties)."""
    low, high = _wilson(passed, total, z)
    return round(low, 4), round(high, 4)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: under "neither model is better" each question that only one model passes
    is a fair coin; the chance of a split at least this uneven."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: list[bool], b: list[bool]) -> dict[str, Any]:
    """Model A against model B on the same questions (pass or not for each): both rates, the difference A - B
    with Newcombe's 95% interval for paired proportions (his method 10, from the two Wilson intervals and the
    correlation of the pairs) and the exact McNemar p-value."""
    if len(a) != len(b):
        raise ValueError("paired: both models must answer the same questions")
    n = len(a)
    both = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    neither = n - both - only_a - only_b
    if n == 0:
        return {"questions": 0, "both": 0, "only_a": 0, "only_b": 0, "neither": 0, "difference": None,
                "ci95": [-1.0, 1.0], "p_value": 1.0}
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = _wilson(both + only_a, n)
    l2, u2 = _wilson(both + only_b, n)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / math.sqrt(margins) if margins else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return {"questions": n, "both": both, "only_a": only_a, "only_b": only_b, "neither": neither,
            "difference": round(d, 4), "ci95": [round(max(-1.0, low), 4), round(min(1.0, high), 4)],
            "p_value": round(mcnemar_exact(only_a, only_b), 4)}
