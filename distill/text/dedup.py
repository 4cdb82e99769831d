"""Exact and near-duplicate detection for generated texts (questions, instructions).

Exact: SHA-1 of the normalised text (lower-case, punctuation dropped, whitespace collapsed). Near: MinHash over
word 3-gram shingles (CRC-32 ids; 100 permutations, numpy) with LSH banding (20 bands x 5 rows: a pair at
Jaccard 0.8 shares a band with probability 0.9996), confirmed by the true Jaccard >= threshold. Streaming:
`seen(text)` says whether an earlier text was a (near) duplicate and remembers this one otherwise.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

_PRIME = (1 << 61) - 1
_WORD = re.compile(r"[a-z0-9]+")


def normalized(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class Deduplicator:
    def __init__(self, threshold: float = 0.8, num_perm: int = 100, bands: int = 20, seed: int = 42,
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
        return frozenset(zlib.crc32(" ".join(ws[i:i + 3]).encode()) for i in range(max(1, len(ws) - 2)))

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
        raw = self._signature(sh).tobytes()
        width = 8 * self.rows
        bands = [raw[i:i + width] for i in range(0, len(raw), width)]
        members = [bucket.setdefault(band, []) for band, bucket in zip(bands, self.buckets)]
        checked: set[int] = set()
        for group in members:
            for j in group:
                if j in checked:
                    continue
                checked.add(j)
                other = self.shingles[j]
                if len(sh & other) / len(sh | other) >= self.threshold:
                    self.stats["near"] += 1
                    return "near"
        idx = len(self.shingles)
        self.shingles.append(sh)
        for group in members:
            group.append(idx)
        return None
