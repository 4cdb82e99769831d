"""Exact and near-duplicate detection for generated texts (questions, instructions).

Exact: SHA-1 of the normalised text (lower-case, punctuation dropped, whitespace collapsed). Near: MinHash over
word 3-gram shingles (128 permutations, numpy) with LSH banding (32 bands x 4 rows, which finds pairs at Jaccard
~0.6 and above with high probability), confirmed by the true Jaccard >= threshold. Streaming: `seen(text)` says
whether an earlier text was a (near) duplicate and remembers this one otherwise.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_PRIME = (1 << 61) - 1
_WORD = re.compile(r"[a-z0-9]+")


def normalized(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class Deduplicator:
    def __init__(self, threshold: float = 0.8, num_perm: int = 128, bands: int = 32, seed: int = 42,
                 near: bool = True) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
        self.threshold, self.bands, self.rows, self.near = threshold, bands, num_perm // bands, near
        self.exact: set[bytes] = set()
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self.shingles: list[frozenset[int]] = []
        self.stats = {"checked": 0, "exact": 0, "near": 0}

    def _shingles(self, norm: str) -> frozenset[int]:
        ws = norm.split()
        grams = [" ".join(ws[i:i + 3]) for i in range(max(1, len(ws) - 2))]
        return frozenset(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 3
                         for g in grams)

    def _signature(self, sh: frozenset[int]) -> np.ndarray:
        x = np.fromiter(sh, dtype=np.uint64, count=len(sh))[:, None]
        # (a*x + b) mod p, computed in uint64 with wrap-around; good enough mixing for banding
        return ((x * self.a + self.b) % np.uint64(_PRIME)).min(axis=0)

    def seen(self, text: str) -> str | None:
        """"exact" or "near" if `text` duplicates an earlier one, else None (and remember it)."""
        self.stats["checked"] += 1
        norm = normalized(text)
        key = hashlib.sha1(norm.encode()).digest()
        if key in self.exact:
            self.stats["exact"] += 1
            return "exact"
        self.exact.add(key)
        if not self.near:
            return None
        sh = self._shingles(norm)
        sig = self._signature(sh)
        bands = [sig[i * self.rows:(i + 1) * self.rows].tobytes() for i in range(self.bands)]
        for band, bucket in zip(bands, self.buckets):
            for j in bucket.get(band, ()):
                other = self.shingles[j]
                if len(sh & other) / len(sh | other) >= self.threshold:
                    self.stats["near"] += 1
                    return "near"
        idx = len(self.shingles)
        self.shingles.append(sh)
        for band, bucket in zip(bands, self.buckets):
            bucket.setdefault(band, []).append(idx)
        return None
