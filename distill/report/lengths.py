"""Lengths in tokens of instructions and responses, and how far two length distributions are apart.

A token here is a word or a punctuation mark (regex `\\w+|[^\\w\\s]`): tokenizer-free, so the figure is the same
on every machine and easy to check by hand. Subword tokenizers (BPE) give roughly 1.2-1.4x as many."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from distill.report.tally import Tally

TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def token_counts(texts: list[str]) -> np.ndarray:
    return np.fromiter((count_tokens(t) for t in texts), dtype=np.int64, count=len(texts))


def summary(counts: np.ndarray | Tally) -> dict[str, Any]:
    """Count, mean, median, 5th/95th percentile, min and max of token counts (an array or a tally: the same
    figures, np.percentile's)."""
    tally = counts if isinstance(counts, Tally) else Tally.of(counts)
    if not len(tally):
        return {"count": 0}
    values, _ = tally.arrays()
    p5, p50, p95 = tally.percentiles([5, 50, 95])
    return {"count": len(tally), "mean": round(tally.mean(), 2), "median": p50, "p5": p5, "p95": p95,
            "min": int(values[0]), "max": int(values[-1])}


def histogram(tally: Tally, bins: int = 30) -> dict[str, Any]:
    """`bins` equal bins from 0 to the 99th percentile; longer texts fall in the last bin."""
    values, weights = tally.arrays()
    hi = max(1.0, tally.percentiles([99])[0]) if len(values) else 1.0
    hist, edges = np.histogram(np.clip(values, 0, hi), bins=bins, range=(0, hi), weights=weights)
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in hist]}


def distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Two-sample Kolmogorov-Smirnov statistic (0 = same distribution, 1 = disjoint) with its p-value, and the
    Wasserstein (earth mover's) distance in tokens: how far, on average, the mass must move."""
    from scipy.stats import ks_2samp, wasserstein_distance

    if not len(a) or not len(b):
        return {}
    ks = ks_2samp(a, b)
    return {"ks": round(float(ks.statistic), 4), "ks_p": float(ks.pvalue),
            "wasserstein": round(float(wasserstein_distance(a, b)), 3)}
