"""Lexical diversity: distinct-n, compression ratio, and vocabulary overlap with a reference set.

- distinct-n (Li et al. 2016): unique n-grams / all n-grams, n-grams taken inside each text (never across two).
  It falls as a corpus grows, so it is computed on a seeded sample of the same size for every set compared.
- compression ratio (Shaib et al. 2024, "Standardizing the measurement of text diversity"): bytes of the texts
  joined by newlines / bytes after gzip (level 9). Higher means more repetitive ("averagy") text.
Words are lower-cased `\\w+` runs."""

from __future__ import annotations

import gzip
import math
import random
import re
from collections import Counter
from typing import Any

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def sample(texts: list[str], k: int, seed: int = 0) -> list[str]:
    if len(texts) <= k:
        return list(texts)
    return [texts[i] for i in sorted(random.Random(seed).sample(range(len(texts)), k))]


def distinct_n(texts: list[str], n: int) -> float:
    seen: set[tuple[str, ...]] = set()
    total = 0
    for t in texts:
        ws = words(t)
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else 0.0


def compression_ratio(texts: list[str]) -> float:
    raw = "\n".join(texts).encode("utf-8")
    return round(len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0)), 4) if raw else 0.0


def diversity(texts: list[str], k: int) -> dict[str, Any]:
    s = sample(texts, k)
    return {"sample": len(s), "distinct_1": distinct_n(s, 1), "distinct_2": distinct_n(s, 2),
            "distinct_3": distinct_n(s, 3), "compression_ratio": compression_ratio(s)}


def vocabulary_overlap(synthetic: list[str], real: list[str], k: int, top: int = 12) -> dict[str, Any]:
    """On equal-size samples: Jaccard overlap of the two vocabularies, the share of the real set's word
    occurrences whose word the synthetic set uses at all, and the words each side uses far more (smoothed
    log-ratio of relative frequencies, words seen at least 5 times)."""
    k = min(k, len(synthetic), len(real))
    cs = Counter(w for t in sample(synthetic, k) for w in words(t))
    cr = Counter(w for t in sample(real, k) for w in words(t))
    vs, vr = set(cs), set(cr)
    ns, nr = sum(cs.values()) or 1, sum(cr.values()) or 1

    def ratio(w: str) -> float:
        return math.log(((cs[w] + 1) / (ns + len(vs | vr))) / ((cr[w] + 1) / (nr + len(vs | vr))))

    frequent = [w for w in vs | vr if cs[w] + cr[w] >= 5]
    ranked = sorted(frequent, key=lambda w: (ratio(w), w))
    return {"sample": k, "synthetic_vocab": len(vs), "real_vocab": len(vr),
            "jaccard": round(len(vs & vr) / len(vs | vr), 4) if vs | vr else 0.0,
            "real_token_coverage": round(sum(c for w, c in cr.items() if w in vs) / nr, 4),
            "overused": [{"word": w, "synthetic": cs[w], "real": cr[w]} for w in reversed(ranked[-top:])
                         if ratio(w) > 0],
            "underused": [{"word": w, "synthetic": cs[w], "real": cr[w]} for w in ranked[:top] if ratio(w) < 0]}
