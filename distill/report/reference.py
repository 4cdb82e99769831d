"""The synthetic set against a real reference set: where, and how far, they differ.

- lengths side by side, with the KS statistic and the Wasserstein distance (`lengths.distance`);
- vocabulary overlap and lexical diversity on equal-size samples (`lexical`);
- a two-sample classifier (scikit-learn logistic regression, 5-fold cross-validated, balanced classes of at most
  5,000 texts each): ROC AUC of telling real from synthetic, on TF-IDF word 1-2-grams and, with embeddings, on the
  embeddings. 0.5 means indistinguishable, 1.0 means every text gives itself away;
- embedding distance: unbiased MMD^2 with a Gaussian kernel (bandwidth: the median pairwise distance) and its
  permutation p-value (200 permutations, at most 1,000 texts a side), and the Fréchet distance between Gaussians
  fitted to the two sets (FID's formula);
- coverage: k-means on the real set; a real cluster is reached when a synthetic text falls within the distance
  of 95% of that cluster's own members from its centre. Coverage is the share of real clusters reached; the
  clusters whose share of synthetic texts is >= 1.5x (over) or <= 0.5x (under) their share of real texts are
  listed with examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distill.errors import InputError
from distill.report import lengths, lexical
from distill.report.semantic import choose_k, cluster_labels, kmeans
from distill.report.sources import TextSet

LIBRARIES = {"scipy": "scipy", "sklearn": "scikit-learn"}  # import name -> package: what the comparison imports


def require_libraries() -> None:
    """Before anything is read: the libraries the comparison needs import, or InputError (exit 2) naming the
    missing ones with the install hint (instead of a ModuleNotFoundError halfway through the report)."""
    import importlib

    missing = []
    for module, package in LIBRARIES.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{package} ({exc})")
    if missing:
        raise InputError(f"--reference: comparing with a real set needs {' and '.join(missing)}, not installed: "
                         "pip install 'distill[report]' and run the same command again.")


def _balanced(a: int, b: int, cap: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    m = min(a, b, cap)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(a, m, replace=False)), np.sort(rng.choice(b, m, replace=False))


def classifier_auc(features: Any, labels: np.ndarray, seed: int = 0) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    proba = cross_val_predict(LogisticRegression(max_iter=2000, C=1.0), features, labels, cv=folds,
                              method="predict_proba")[:, 1]
    return round(float(roc_auc_score(labels, proba)), 4)


def lexical_auc(synthetic: list[str], real: list[str], cap: int = 5000) -> dict[str, Any] | None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    i, j = _balanced(len(synthetic), len(real), cap)
    if len(i) < 10:
        return None
    texts = [synthetic[k] for k in i] + [real[k] for k in j]
    labels = np.r_[np.ones(len(i)), np.zeros(len(j))].astype(int)
    features = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(texts)
    return {"auc": classifier_auc(features, labels), "per_class": len(i), "features": "tf-idf word 1-2-grams"}


def embedding_auc(xs: np.ndarray, xr: np.ndarray, cap: int = 5000) -> dict[str, Any] | None:
    i, j = _balanced(len(xs), len(xr), cap)
    if len(i) < 10:
        return None
    labels = np.r_[np.ones(len(i)), np.zeros(len(j))].astype(int)
    return {"auc": classifier_auc(np.vstack([xs[i], xr[j]]), labels), "per_class": len(i),
            "features": "sentence embeddings"}


def mmd2_unbiased(k: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3) between the points at indices `a` and those at `b` of a pooled
    kernel matrix `k` (its diagonal, each point with itself, is left out)."""
    kaa, kbb = k[np.ix_(a, a)], k[np.ix_(b, b)]
    m, n = len(a), len(b)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * k[np.ix_(a, b)].mean())


def mmd(xs: np.ndarray, xr: np.ndarray, cap: int = 1000, permutations: int = 200, seed: int = 0) -> dict[str, Any]:
    """MMD^2 with a Gaussian kernel whose bandwidth is the median pairwise distance, and the share of
    `permutations` random relabellings of the pooled points that reach it (the permutation p-value)."""
    from sklearn.metrics.pairwise import euclidean_distances, rbf_kernel

    rng = np.random.default_rng(seed)
    a = xs[rng.choice(len(xs), min(cap, len(xs)), replace=False)]
    b = xr[rng.choice(len(xr), min(cap, len(xr)), replace=False)]
    pooled = np.vstack([a, b])
    d = euclidean_distances(pooled, pooled)
    median = float(np.median(d[np.triu_indices(len(pooled), k=1)]))
    gamma = 1.0 / (2 * median ** 2) if median > 0 else 1.0
    k = rbf_kernel(pooled, pooled, gamma=gamma)
    m, n = len(a), len(b)

    def stat(idx: np.ndarray) -> float:
        return mmd2_unbiased(k, idx[:m], idx[m:])

    observed = stat(np.arange(m + n))
    null = [stat(rng.permutation(m + n)) for _ in range(permutations)]
    p = (1 + sum(v >= observed for v in null)) / (permutations + 1)
    return {"mmd2": round(float(observed), 6), "p_value": round(float(p), 4), "bandwidth": round(median, 4),
            "per_side": [m, n], "permutations": permutations}


def frechet(xs: np.ndarray, xr: np.ndarray) -> float:
    from scipy.linalg import sqrtm

    mu1, mu2 = xs.mean(axis=0), xr.mean(axis=0)
    s1, s2 = np.cov(xs, rowvar=False), np.cov(xr, rowvar=False)
    covmean = sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return round(float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)), 5)


def coverage(xs: np.ndarray, xr: np.ndarray, synthetic: list[str], real: list[str]) -> dict[str, Any]:
    k = choose_k(len(xr))
    assign_r, centres = kmeans(xr, k)
    dist_r = np.linalg.norm(xr - centres[assign_r], axis=1)
    radius = np.array([np.percentile(dist_r[assign_r == c], 95) if (assign_r == c).any() else 0.0
                       for c in range(k)])
    from sklearn.metrics import pairwise_distances_argmin_min

    assign_s, near = pairwise_distances_argmin_min(xs, centres)
    inside = near <= radius[assign_s]
    real_share = np.bincount(assign_r, minlength=k) / len(xr)
    synth_share = np.bincount(assign_s, minlength=k) / len(xs)
    reached = np.bincount(assign_s[inside], minlength=k) > 0
    labels = cluster_labels(real, assign_r, k)
    clusters: list[dict[str, Any]] = []
    for c in range(k):
        ratio = synth_share[c] / real_share[c] if real_share[c] else float("inf")
        clusters.append({"cluster": c, "label": ", ".join(labels[c]), "real_share": round(float(real_share[c]), 4),
                         "synthetic_share": round(float(synth_share[c]), 4), "ratio": round(float(ratio), 3),
                         "reached": bool(reached[c]),
                         "real_examples": [real[i] for i in np.flatnonzero(assign_r == c)[:3]],
                         "synthetic_examples": [synthetic[i] for i in np.flatnonzero(assign_s == c)[:3]]})
    over = sorted((c for c in clusters if c["ratio"] >= 1.5), key=lambda c: -c["ratio"])
    under = sorted((c for c in clusters if c["ratio"] <= 0.5), key=lambda c: c["ratio"])
    return {"k": k, "coverage": round(float(reached.mean()), 4),
            "weighted_coverage": round(float(real_share[reached].sum()), 4),
            "synthetic_outside": round(float(1 - inside.mean()), 4), "clusters": clusters,
            "over": [c["cluster"] for c in over], "under": [c["cluster"] for c in under]}


def compare(syn: TextSet, real: TextSet, sample: int, xs: np.ndarray | None = None,
            xr: np.ndarray | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": real.name, "count": real.total, "sample": len(real), "lengths": {}}
    for part in ("instructions", "responses"):
        a, b = getattr(syn, part), getattr(real, part)
        if not any(t.strip() for t in b) or not any(t.strip() for t in a):
            continue
        ca, cb = lengths.token_counts(a), lengths.token_counts(b)
        out["lengths"][part] = {"synthetic": lengths.summary(ca), "real": lengths.summary(cb),
                                **lengths.distance(ca, cb)}
    out["vocabulary"] = lexical.vocabulary_overlap(syn.instructions, real.instructions, sample)
    out["real_lexical"] = lexical.diversity(real.instructions, sample)
    out["classifier"] = {"lexical": lexical_auc(syn.instructions, real.instructions)}
    if xs is not None and xr is not None and len(xs) >= 2 and len(xr) >= 2:
        out["classifier"]["embedding"] = embedding_auc(xs, xr)
        out["mmd"] = mmd(xs, xr)
        out["frechet"] = frechet(xs, xr)
        out["coverage"] = coverage(xs, xr, syn.instructions, real.instructions)
    return out
