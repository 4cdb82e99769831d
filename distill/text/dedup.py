"""Exact and near-duplicate detection for generated texts (questions, instructions).

Exact: SHA-1 of the normalised text (lower-case, punctuation dropped, whitespace collapsed). Near: MinHash over
word 3-gram shingles (64-bit ids built from CRC-32 word ids; 100 multiply-shift hash functions, numpy) with LSH
banding (20 bands x 5 rows: a pair at
Jaccard 0.8 shares a band with probability 0.9996), confirmed by the true Jaccard >= threshold. Streaming:
`seen(text)` says whether an earlier text was a (near) duplicate and remembers this one otherwise.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)  # odd constants to combine word ids
_WORD = re.compile(r"[a-z0-9]+")


def normalized(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class Deduplicator:
    def __init__(self, threshold: float = 0.8, num_perm: int = 100, bands: int = 20, seed: int = 42,
                 near: bool = True) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 1 << 63, size=num_perm, dtype=np.uint64) | np.uint64(1)  # odd multipliers
        self.b = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64)
        self.band_mix = rng.integers(1, 1 << 63, size=num_perm // bands, dtype=np.uint64) | np.uint64(1)
        self.threshold, self.bands, self.rows, self.near = threshold, bands, num_perm // bands, near
        self.exact: set[bytes] = set()
        self.buckets: list[dict[int, int | list[int]]] = [{} for _ in range(bands)]
        self.shingles: list[np.ndarray] = []
        self.stats = {"checked": 0, "exact": 0, "near": 0}

    @staticmethod
    def _shingles(norm: str) -> np.ndarray:
        """Sorted unique 64-bit ids of the word 3-grams (of the whole text when it has fewer than 3 words)."""
        words = norm.split() or [""]
        ids = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
        if len(ids) >= 3:
            ids = ids[:-2] * _M1 + ids[1:-1] * _M2 + ids[2:]
        elif len(ids) > 1:
            ids = ids[:1] * _M1 + ids[1:] * _M2
        return np.unique(ids)

    def _band_keys(self, sh: np.ndarray) -> list[int]:
        """One integer per LSH band: the band's rows of the MinHash signature, mixed together."""
        # multiply-shift hashing (a*x + b, top 32 bits of the 64-bit product): a universal family, no modulo
        signature = ((sh[:, None] * self.a + self.b) >> np.uint64(32)).min(axis=0)
        return (signature.reshape(self.bands, self.rows) * self.band_mix).sum(axis=1).tolist()  # type: ignore

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
        keys = self._band_keys(sh)
        candidates: set[int] = set()
        for band, bucket in zip(keys, self.buckets, strict=True):
            hit = bucket.get(band)
            if hit is not None:
                candidates.update(hit) if isinstance(hit, list) else candidates.add(hit)
        for j in candidates:
            other = self.shingles[j]
            shared = len(np.intersect1d(sh, other, assume_unique=True))
            if shared / (len(sh) + len(other) - shared) >= self.threshold:
                self.stats["near"] += 1
                return "near"
        idx = len(self.shingles)
        self.shingles.append(sh)
        for band, bucket in zip(keys, self.buckets, strict=True):
            hit = bucket.get(band)
            if hit is None:
                bucket[band] = idx
            elif isinstance(hit, list):
                hit.append(idx)
            else:
                bucket[band] = [hit, idx]
        return None
