"""Semantic diversity from sentence embeddings (L2-normalised, so a dot product is a cosine):

- clusters: k-means (scikit-learn; MiniBatchKMeans above 20,000 texts) with k = sqrt(n/2) clipped to 2..30, each
  labelled by its most distinctive words (class-based TF-IDF, as BERTopic does: a word's frequency in the
  cluster times log(1 + average words per cluster / the word's total frequency));
- spread: mean pairwise cosine distance and the effective number of clusters (exp of the size entropy);
- nearest-neighbour cosine of a seeded sample of texts against the whole set (the embedding analogue of the
  ROUGE-L figure);
- near-duplicate pairs (cosine >= 0.95): exact for up to 5,000 texts; beyond that, pairs are searched inside
  blocks of a fine k-means partition (about 1,000 texts each), which misses pairs split across two blocks;
- a 2-D map (PCA) of up to 2,000 points coloured by cluster.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NEAR_DUP = 0.95


def choose_k(n: int) -> int:
    return int(np.clip(round(math.sqrt(n / 2)), 2, 30)) if n >= 4 else 1


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(cluster of each row, centroids)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if k <= 1:
        return np.zeros(len(x), dtype=np.int64), x.mean(axis=0, keepdims=True)
    model: Any = (KMeans(n_clusters=k, n_init=3, random_state=seed) if len(x) <= 20_000 else
                  MiniBatchKMeans(n_clusters=k, n_init=3, random_state=seed, batch_size=4096))
    assign = model.fit_predict(x)
    return assign.astype(np.int64), model.cluster_centers_.astype(np.float32)


def cluster_labels(texts: list[str], assign: np.ndarray, k: int, top: int = 3) -> list[list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    if len(texts) > 20_000:
        idx = np.random.default_rng(0).choice(len(texts), 20_000, replace=False)
        texts, assign = [texts[i] for i in idx], assign[idx]
    try:
        vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", max_features=20_000)
        counts = vec.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return [[] for _ in range(k)]
    words = vec.get_feature_names_out()
    per = np.zeros((k, counts.shape[1]))
    for c in range(k):
        rows = np.flatnonzero(assign == c)
        if len(rows):
            per[c] = np.asarray(counts[rows].sum(axis=0)).ravel()
    tf = per / np.maximum(per.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + per.sum(axis=1).mean() / np.maximum(per.sum(axis=0), 1))
    score = tf * idf
    return [[str(words[j]) for j in np.argsort(-score[c], kind="stable")[:top] if score[c, j] > 0] for c in range(k)]


def nearest_similarity(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Each sampled row's highest cosine with another row of `x`."""
    n = len(x)
    idx = np.sort(np.random.default_rng(seed).choice(n, min(k, n), replace=False))
    best = np.full(len(idx), -1.0)
    for start in range(0, len(idx), 512):
        part = idx[start:start + 512]
        sims = x[part] @ x.T
        sims[np.arange(len(part)), part] = -np.inf
        best[start:start + 512] = sims.max(axis=1)
    return best


def near_duplicates(x: np.ndarray, texts: list[str], threshold: float = NEAR_DUP,
                    listed: int = 20) -> dict[str, Any]:
    n = len(x)
    if n <= 5000:
        blocks = [np.arange(n)]
        method = "exact"
    else:
        assign, _ = kmeans(x, max(2, n // 1000), seed=1)
        blocks = [np.flatnonzero(assign == c) for c in range(int(assign.max()) + 1)]
        method = "within k-means blocks of ~1,000 texts"
    pairs: list[tuple[float, int, int]] = []
    total = 0
    for block in blocks:
        if len(block) < 2:
            continue
        sims = x[block] @ x[block].T
        i, j = np.nonzero(np.triu(sims >= threshold, k=1))
        total += len(i)
        top = np.argsort(-sims[i, j], kind="stable")[:listed]
        pairs += [(float(sims[i[t], j[t]]), int(block[i[t]]), int(block[j[t]])) for t in top]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return {"threshold": threshold, "pairs": total, "method": method,
            "examples": [{"cosine": round(s, 4), "a": texts[a], "b": texts[b]} for s, a, b in pairs[:listed]]}


def projection(x: np.ndarray, max_points: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the plotted rows, their 2-D PCA coordinates)."""
    from sklearn.decomposition import PCA

    idx = np.sort(np.random.default_rng(seed).choice(len(x), min(max_points, len(x)), replace=False))
    if len(x) < 3:
        return idx, np.zeros((len(idx), 2))
    return idx, PCA(n_components=2, random_state=seed).fit_transform(x[idx])


def semantic(x: np.ndarray, texts: list[str], sample: int) -> dict[str, Any]:
    n = len(x)
    k = choose_k(n)
    assign, _ = kmeans(x, k)
    sizes = np.bincount(assign, minlength=k)
    labels = cluster_labels(texts, assign, k)
    p = sizes[sizes > 0] / n
    sub = x[np.random.default_rng(0).choice(n, min(n, 2000), replace=False)]
    sims = sub @ sub.T
    m = len(sub)
    mean_distance = 1 - (sims.sum() - np.trace(sims)) / (m * (m - 1)) if m > 1 else 0.0
    nn = nearest_similarity(x, sample) if n > 1 else np.zeros(0)
    clusters = []
    for c in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(assign == c)
        clusters.append({"cluster": int(c), "size": int(sizes[c]), "share": round(float(sizes[c] / n), 4),
                         "label": ", ".join(labels[c]), "examples": [texts[i] for i in members[:3]]})
    return {"count": n, "k": k, "clusters": clusters, "assign": assign,
            "effective_clusters": round(float(math.exp(-(p * np.log(p)).sum())), 3),
            "mean_cosine_distance": round(float(mean_distance), 4),
            "nearest_neighbour": {"sample": len(nn), "mean": round(float(nn.mean()), 4) if len(nn) else 0.0,
                                  "edges": [round(float(e), 2) for e in np.linspace(0, 1, 21)],
                                  "counts": np.histogram(nn.clip(0, 1), bins=np.linspace(0, 1, 21))[0].tolist()},
            "near_duplicates": near_duplicates(x, texts)}
