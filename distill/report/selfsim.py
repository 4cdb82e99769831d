"""Self-similarity as in the self-instruct paper's Figure 4: for each instruction, its highest ROUGE-L F1
against every other instruction of the set (and, separately, against the seed instructions).

Tokens and the F1 formula are rouge_score's (`distill.text.rouge_novelty`, without a stemmer), so a score here
is the one `rouge_score` gives. Each token becomes one character and rapidfuzz's `process.cdist` computes the
LCS of every (query, other) pair in C++ on all cores. The queries are a seeded sample of at most `k`
instructions (1,000 by default); each is compared with every instruction given, so the maxima are exact for
the queries. The report gives it the whole run up to `report.sample` rows (20,000 by default) and a seeded
uniform sample of that many beyond: a near copy whose partner fell outside the sample is then missed, so on a
run larger than the sample the share over 0.7 is a lower bound (about sample/records of single near-copy pairs
are found)."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np

from distill.text.rouge_novelty import rouge_l_f1

THRESHOLD = 0.7  # self-instruct's novelty cut: an instruction with ROUGE-L > 0.7 to another is a near copy


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _encode(texts: list[str], vocab: dict[str, str]) -> list[str]:
    """Each text's rouge_score tokens (`rouge_tokens`: lower-case, runs of [a-z0-9]; written here as one
    substitution and a split, which gives the same list faster) as one character per distinct token."""
    out = []
    for t in texts:
        toks = _NON_ALNUM.sub(" ", t.lower()).split()
        for tok in toks:
            if tok not in vocab:
                i = len(vocab)
                vocab[tok] = chr(i + 0xE000) if i < 0x2000 else chr(i + 0x10000)
        out.append("".join([vocab[tok] for tok in toks]))
    return out


def max_rouge_l(queries: list[str], pool: list[str], exclude: list[int] | None = None,
                chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the highest ROUGE-L F1 against `pool` and the pool index that reaches it; `exclude[i]` is
    a pool index that query i must not be compared with (itself).

    F1 = 2PR/(P+R) with P = lcs/|b|, R = lcs/|a| equals 2*lcs/(|a|+|b|); the maximum is found with the latter in
    float32 over a chunk of queries at a time, then the winners' scores are recomputed with rouge_score's own
    formula (`rouge_l_f1`), so the figure reported is the package's float."""
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    vocab: dict[str, str] = {}
    q, p = _encode(queries, vocab), _encode(pool, vocab)
    best, arg = np.zeros(len(q)), np.zeros(len(q), dtype=np.int64)
    if not q or not p:
        return best, arg
    plen = np.array([len(s) for s in p], dtype=np.float32)
    for start in range(0, len(q), chunk):
        part = q[start:start + chunk]
        lcs = process.cdist(part, p, scorer=LCSseq.similarity, dtype=np.int32, workers=-1)
        f1 = lcs.astype(np.float32)
        f1 *= 2
        f1 /= np.maximum(np.array([len(s) for s in part], dtype=np.float32)[:, None] + plen[None, :], 1)
        rows = np.arange(len(part))
        if exclude is not None:
            f1[rows, np.asarray(exclude[start:start + chunk])] = -1.0
        top = f1.max(axis=1)
        for r in rows:  # ties in exact arithmetic can differ in rouge_score's floats: score each distinct pair
            cand = np.flatnonzero(f1[r] >= top[r] - 1e-5)
            keys, first = np.unique(lcs[r, cand].astype(np.int64) * 1_000_000 + plen[cand].astype(np.int64),
                                    return_index=True)
            scored = [(rouge_l_f1(int(k // 1_000_000), len(part[r]), int(k % 1_000_000)), -int(cand[i]))
                      for k, i in zip(keys, first, strict=True)]
            score, neg = max(scored)
            best[start + r], arg[start + r] = max(score, 0.0), -neg
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
