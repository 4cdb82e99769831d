"""Exact and near-duplicate detection, and n-gram decontamination, on hand-made cases."""

from __future__ import annotations

from distill.text.decontam import Decontaminator
from distill.text.dedup import Deduplicator


def test_exact_and_near_duplicates():
    d = Deduplicator()
    base = "Explain how the water cycle moves water between the oceans, the air and the land over a year"
    assert d.seen(base) is None
    assert d.seen(base.upper() + "!!") == "exact"  # case and punctuation do not matter
    assert d.seen(base.replace("a year", "a decade")) == "near"  # one 3-gram of 16 differs: Jaccard 0.88
    assert d.seen("Write a short poem about a lighthouse keeper and his cat on a stormy night") is None
    assert d.stats == {"checked": 4, "exact": 1, "near": 1}
    assert d.seen("?!") is None and d.seen("...") == "exact"  # texts with no words at all are still handled
    assert d.seen("Two words") is None and d.seen("two words.") == "exact"
    exact_only = Deduplicator(near=False)
    exact_only.seen(base)
    assert exact_only.seen(base.replace("a year", "a decade")) is None


def test_decontamination_uses_the_gpt3_ngram_rule():
    bench = ["Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."]
    d = Decontaminator(bench)
    assert d.n == 13  # 5th-percentile length (20 words) clipped to 8..13
    assert d.contaminated("Q: natalia sold clips to 48 of her friends in april and then she sold half as many")
    assert not d.contaminated("Natalia sold clips to 48 friends in April.")
    short = Decontaminator(["What is two plus two?"])
    assert short.n == 8 and short.contaminated("Quick quiz: what is two plus two? Answer fast.")
    assert short.report()["removed"] == 1
