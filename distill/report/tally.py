"""Bounded-memory summaries for a report over any number of rows: a value tally (exact distribution of integer
values such as token lengths, in memory bounded by the number of distinct values, not by the rows), and a
seeded reservoir (a uniform sample of at most k items from a stream of unknown length, Vitter's algorithm R:
the same stream and seed always keep the same items)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


class Reservoir(Generic[T]):
    def __init__(self, k: int, seed: int = 0) -> None:
        self.k = k
        self.seen = 0
        self.items: list[tuple[int, T]] = []
        self._random = random.Random(seed).random

    def add(self, item: T) -> None:
        i = self.seen
        self.seen += 1
        if i < self.k:
            self.items.append((i, item))
            return
        j = int(self._random() * (i + 1))
        if j < self.k:
            self.items[j] = (i, item)

    def sample(self) -> list[T]:
        """The kept items in stream order."""
        return [item for _, item in sorted(self.items, key=lambda p: p[0])]


class Tally:
    """How many times each value occurred; percentiles, mean and histograms as numpy gives them on the full
    array of values (np.percentile's default linear interpolation), without ever holding that array."""

    def __init__(self, counter: Counter[int] | None = None) -> None:
        self.counter: Counter[int] = counter if counter is not None else Counter()

    @classmethod
    def of(cls, values: Any) -> Tally:
        return cls(Counter(int(v) for v in values))

    def add(self, value: int) -> None:
        self.counter[value] += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct values ascending, their counts)."""
        if not self.counter:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        values = np.array(sorted(self.counter), dtype=np.int64)
        return values, np.array([self.counter[v] for v in values.tolist()], dtype=np.int64)

    def __len__(self) -> int:
        return sum(self.counter.values())

    def percentiles(self, qs: list[float]) -> list[float]:
        values, counts = self.arrays()
        n = int(counts.sum())
        ends = np.cumsum(counts)  # the rank just past each distinct value's run
        out = []
        for q in qs:
            pos = (n - 1) * (q / 100)
            lo, hi = int(np.floor(pos)), int(np.ceil(pos))
            a = float(values[np.searchsorted(ends, lo, side="right")])
            b = float(values[np.searchsorted(ends, hi, side="right")])
            t = pos - lo  # numpy's lerp, so the float is the one np.percentile gives
            out.append(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))
        return out

    def mean(self) -> float:
        values, counts = self.arrays()
        return float((values * counts).sum() / counts.sum())
