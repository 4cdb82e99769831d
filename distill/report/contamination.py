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


class NgramCheck:
    """Instructions fed one at a time (`check`), so every accepted row of a run of any size is checked while it
    is read; only the count and the first `listed` pairs are kept."""

    def __init__(self, bench: list[str], where: list[str], n: int = NGRAM, listed: int = 50) -> None:
        self.bench, self.where, self.n, self.listed = bench, where, n, listed
        self.index: dict[tuple[str, ...], int] = {}
        self.short: dict[tuple[str, ...], int] = {}
        for j, q in enumerate(bench):
            ws = words(q)
            if 0 < len(ws) < n:
                self.short.setdefault(tuple(ws), j)
            for g in ngrams(ws, n):
                self.index.setdefault(g, j)
        self.short_lengths = sorted({len(s) for s in self.short})
        self.checked = self.contaminated = 0
        self.pairs: list[dict[str, Any]] = []

    def check(self, i: int, text: str) -> None:
        self.checked += 1
        ws = words(text)
        hit = next((self.index[g] for g in ngrams(ws, self.n) if g in self.index), None)
        if hit is None:
            hit = next((self.short[g] for m in self.short_lengths for g in ngrams(ws, m) if g in self.short), None)
        if hit is not None:
            self.contaminated += 1
            if len(self.pairs) < self.listed:
                self.pairs.append({"instruction": text, "benchmark": self.bench[hit], "file": self.where[hit],
                                   "index": i})

    def result(self) -> dict[str, Any]:
        return {"n": self.n, "checked": self.checked, "contaminated": self.contaminated,
                "share": round(self.contaminated / self.checked, 6) if self.checked else 0.0, "pairs": self.pairs}


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
