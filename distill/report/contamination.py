"""Contamination against benchmark files: the instructions that share a 13-gram with a benchmark question
(GPT-3's rule, with `distill.text.decontam`'s normalisation: lower-case words, punctuation dropped; a benchmark
question shorter than 13 words matches when it appears whole), and the instructions whose embedding's nearest
benchmark question has a cosine >= 0.9 (llm-decontaminator's retrieval step; rephrasings n-grams miss). Each
offending pair is listed with the benchmark file it came from."""

from __future__ import annotations

from typing import Any

import numpy as np

from distill.text.decontam import ngrams, words

NGRAM = 13
COSINE = 0.9


def ngram_overlap(texts: list[str], bench: list[str], where: list[str], n: int = NGRAM,
                  listed: int = 50) -> dict[str, Any]:
    index: dict[tuple[str, ...], int] = {}
    short: dict[tuple[str, ...], int] = {}
    for j, q in enumerate(bench):
        ws = words(q)
        if 0 < len(ws) < n:
            short.setdefault(tuple(ws), j)
        for g in ngrams(ws, n):
            index.setdefault(g, j)
    short_lengths = sorted({len(s) for s in short})
    pairs = []
    for i, t in enumerate(texts):
        ws = words(t)
        hit = next((index[g] for g in ngrams(ws, n) if g in index), None)
        if hit is None:
            hit = next((short[g] for m in short_lengths for g in ngrams(ws, m) if g in short), None)
        if hit is not None:
            pairs.append({"instruction": t, "benchmark": bench[hit], "file": where[hit], "index": i})
    return {"n": n, "checked": len(texts), "contaminated": len(pairs),
            "share": round(len(pairs) / len(texts), 6) if texts else 0.0, "pairs": pairs[:listed]}


def embedding_neighbours(x: np.ndarray, b: np.ndarray, texts: list[str], bench: list[str], where: list[str],
                         threshold: float = COSINE, listed: int = 50) -> dict[str, Any]:
    best = np.full(len(x), -1.0)
    arg = np.zeros(len(x), dtype=np.int64)
    for start in range(0, len(x), 4096):
        sims = x[start:start + 4096] @ b.T
        arg[start:start + 4096] = sims.argmax(axis=1)
        best[start:start + 4096] = sims.max(axis=1)
    hits = np.flatnonzero(best >= threshold)
    hits = hits[np.argsort(-best[hits], kind="stable")]
    return {"threshold": threshold, "checked": len(x), "over_threshold": len(hits),
            "edges": [round(float(e), 2) for e in np.linspace(0, 1, 21)],
            "counts": np.histogram(best.clip(0, 1), bins=np.linspace(0, 1, 21))[0].tolist(),
            "pairs": [{"cosine": round(float(best[i]), 4), "instruction": texts[i], "benchmark": bench[arg[i]],
                       "file": where[arg[i]], "index": int(i)} for i in hits[:listed]]}
