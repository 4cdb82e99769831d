"""Self-similarity as in the self-instruct paper's Figure 4: for each instruction, its highest ROUGE-L F1
against every other instruction of the set (and, separately, against the seed instructions).

Tokens and the F1 formula are rouge_score's (`distill.text.rouge_novelty`, without a stemmer), so a score here
is the one `rouge_score` gives. Each token becomes one character and rapidfuzz's `process.cdist` computes the
LCS of every (query, other) pair in C++ on all cores. The queries are a seeded sample of at most `k`
instructions (2,000 by default); each is compared with the whole set, so the maxima are exact for the sample."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from distill.text.rouge_novelty import rouge_tokens

THRESHOLD = 0.7  # self-instruct's novelty cut: an instruction with ROUGE-L > 0.7 to another is a near copy


def _encode(texts: list[str], vocab: dict[str, int]) -> list[str]:
    out = []
    for t in texts:
        ids = [vocab.setdefault(tok, len(vocab)) for tok in rouge_tokens(t)]
        out.append("".join(chr(i + 0xE000) if i < 0x2000 else chr(i + 0x10000) for i in ids))
    return out


def max_rouge_l(queries: list[str], pool: list[str], exclude: list[int] | None = None,
                chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the highest ROUGE-L F1 against `pool` and the pool index that reaches it; `exclude[i]` is
    a pool index that query i must not be compared with (itself)."""
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    vocab: dict[str, int] = {}
    q, p = _encode(queries, vocab), _encode(pool, vocab)
    if not q or not p:
        return np.zeros(len(q)), np.zeros(len(q), dtype=np.int64)
    plen = np.array([len(s) for s in p], dtype=np.float64)
    best, arg = np.zeros(len(q)), np.zeros(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        part = q[start:start + chunk]
        lcs = process.cdist(part, p, scorer=LCSseq.similarity, dtype=np.int32, workers=-1).astype(np.float64)
        qlen = np.array([len(s) for s in part], dtype=np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(lcs > 0, 2 * (lcs / plen) * (lcs / qlen) / (lcs / plen + lcs / qlen), 0.0)
        if exclude is not None:
            rows = np.arange(len(part))
            f1[rows, np.asarray(exclude[start:start + chunk])] = -1.0
        arg[start:start + chunk] = f1.argmax(axis=1)
        best[start:start + chunk] = f1.max(axis=1).clip(min=0.0)
    return best, arg


def distribution(scores: np.ndarray) -> dict[str, Any]:
    edges = np.linspace(0, 1, 21)
    counts, _ = np.histogram(scores, bins=edges)
    return {"count": len(scores), "mean": round(float(scores.mean()), 4) if len(scores) else 0.0,
            "median": round(float(np.median(scores)), 4) if len(scores) else 0.0,
            "over_threshold": round(float((scores > THRESHOLD).mean()), 4) if len(scores) else 0.0,
            "threshold": THRESHOLD, "edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}


def self_similarity(instructions: list[str], k: int, seeds: list[str] | None = None,
                    seed: int = 0) -> dict[str, Any]:
    n = len(instructions)
    picked = sorted(random.Random(seed).sample(range(n), k)) if n > k else list(range(n))
    queries = [instructions[i] for i in picked]
    out: dict[str, Any] = {"sample": len(picked), "of": n}
    if n >= 2:
        scores, nearest = max_rouge_l(queries, instructions, exclude=picked)
        out["to_rest"] = distribution(scores)
        top = np.argsort(-scores, kind="stable")[:10]
        out["closest_pairs"] = [{"score": round(float(scores[i]), 4), "text": queries[i],
                                 "nearest": instructions[int(nearest[i])]} for i in top if scores[i] > THRESHOLD]
    if seeds:
        out["to_seeds"] = distribution(max_rouge_l(queries, seeds)[0])
    return out
