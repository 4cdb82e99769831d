"""Math answer comparison: worst cases for math_qa's majority vote and the hostile answers of issue 15.

Majority voting compares each sampled answer with the first answer of every cluster so far, so K distinct answers
cost K^2/2 comparisons. This times that for K = 64 and 512 (the papers' upper sample count) with distinct
fractions, symbolic answers and hostile ones, and the single hostile comparisons the old sympy path could not
finish (`10^10^10` ran for minutes).

    python bench/math_answers.py
"""

from __future__ import annotations

import time

from distill.text.math_answers import clusters, equivalent


def vote(answers: list[str]) -> int:
    return len(clusters(answers))


def main() -> None:
    kinds = {
        "fractions": lambda i: f"\\frac{{{i}}}{{{i + 7}}}",
        "symbolic": lambda i: f"{i}x^2+{i + 1}x-\\sqrt{{{i + 2}}}",
        "hostile": lambda i: ["10^10^10", "[1][5]", "__import__('os').system('id')", "(" * 400 + "1" + ")" * 400][
            i % 4] + " " * (i // 4),
    }
    for k in (64, 512):
        for name, make in kinds.items():
            answers = [make(i) for i in range(k)]
            start = time.perf_counter()
            clusters = vote(answers)
            took = time.perf_counter() - start
            print(f"K={k:4} {name:10} {k * (k - 1) // 2:7} comparisons  {clusters:4} clusters  {took:7.3f} s  "
                  f"{took / max(1, k * (k - 1) // 2) * 1e6:6.1f} us each")
    for a, b in [("10^10^10", "1"), ("9^9^9^9", "9^{9^{81}}"), ("2^{2^{2^{2^{2^{2}}}}}", "0")]:
        start = time.perf_counter()
        result = equivalent(a, b)
        print(f"equivalent({a!r}, {b!r}) = {result}  {1e3 * (time.perf_counter() - start):.2f} ms")


if __name__ == "__main__":
    main()
