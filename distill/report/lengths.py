"""Lengths in tokens of instructions and responses, and how far two length distributions are apart.

A token here is a word or a punctuation mark (regex `\\w+|[^\\w\\s]`): tokenizer-free, so the figure is the same
on every machine and easy to check by hand. Subword tokenizers (BPE) give roughly 1.2-1.4x as many."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def token_counts(texts: list[str]) -> np.ndarray:
    return np.fromiter((count_tokens(t) for t in texts), dtype=np.int64, count=len(texts))


def summary(counts: np.ndarray) -> dict[str, Any]:
    if not len(counts):
        return {"count": 0}
    p5, p50, p95 = np.percentile(counts, [5, 50, 95])
    return {"count": len(counts), "mean": round(float(counts.mean()), 2), "median": float(p50),
            "p5": float(p5), "p95": float(p95), "min": int(counts.min()), "max": int(counts.max())}


def distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Two-sample Kolmogorov-Smirnov statistic (0 = same distribution, 1 = disjoint) with its p-value, and the
    Wasserstein (earth mover's) distance in tokens: how far, on average, the mass must move."""
    from scipy.stats import ks_2samp, wasserstein_distance

    if not len(a) or not len(b):
        return {}
    ks = ks_2samp(a, b)
    return {"ks": round(float(ks.statistic), 4), "ks_p": float(ks.pvalue),
            "wasserstein": round(float(wasserstein_distance(a, b)), 3)}
