"""The paired comparison of two models on the same questions: the exact McNemar p-value and Newcombe's interval
for the difference of two paired pass rates, against values computed by hand and from the literature."""

from __future__ import annotations

import math
import random

import pytest

from distill.eval.stats import mcnemar_exact, paired, wilson


def test_mcnemar_exact_matches_the_binomial_tail():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # six coins all one way, two-sided
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)


def test_mcnemar_agrees_with_scipys_binomial_test():
    scipy_stats = pytest.importorskip("scipy.stats")
    for only_a, only_b in [(3, 11), (7, 2), (20, 31), (0, 1)]:
        expected = scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
        assert mcnemar_exact(only_a, only_b) == pytest.approx(expected)


def test_the_difference_and_its_cells():
    a = [True] * 12 + [True] * 5 + [False] * 9 + [False] * 15
    b = [True] * 12 + [False] * 5 + [True] * 9 + [False] * 15
    r = paired(a, b)
    assert (r["both"], r["only_a"], r["only_b"], r["neither"], r["questions"]) == (12, 5, 9, 15, 41)
    assert r["difference"] == round(-4 / 41, 4)
    assert r["ci95"][0] < r["difference"] < r["ci95"][1] and r["ci95"][0] < 0 < r["ci95"][1]
    assert r["p_value"] == round(mcnemar_exact(5, 9), 4)
    swapped = paired(b, a)  # the interval mirrors when the two models swap
    assert swapped["ci95"] == [-r["ci95"][1], -r["ci95"][0]]


def test_newcombe_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = random.Random(7)
    both, only_a, only_b = 0.3, 0.2, 0.1  # the true cell shares: A passes 0.5, B 0.4, difference 0.1
    covered, runs = 0, 2000
    for _ in range(runs):
        a, b = [], []
        for _ in range(60):
            u = rng.random()
            a.append(u < both + only_a)
            b.append(u < both or both + only_a <= u < both + only_a + only_b)
        low, high = paired(a, b)["ci95"]
        covered += low <= 0.1 <= high
    assert 0.93 <= covered / runs <= 0.985, covered / runs


def test_identical_models_differ_by_nothing():
    a = [True, False, True, True]
    r = paired(a, a)
    assert r["difference"] == 0 and r["p_value"] == 1.0 and r["ci95"][0] <= 0 <= r["ci95"][1]
    with pytest.raises(ValueError):
        paired(a, a[:2])


def test_wilson_halves_and_bounds():
    low, high = wilson(2.5, 5)
    assert low < 0.5 < high and math.isclose(low + high, 1.0, abs_tol=1e-3)
