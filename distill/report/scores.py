"""Judge and reward score distributions, split into what the run kept and what it dropped after scoring
(records in rejected.jsonl that carry scores: the selection's and the gate's rejections).

Read in one pass in bounded memory: count, mean, min and max are exact over every row; the median and the
histogram come from a seeded uniform sample of at most k values per score and side (all of them when there are
no more than k, so exact for runs of up to k scored rows), and `sampled` says how many values they rest on."""

from __future__ import annotations

from typing import Any

import numpy as np

from distill.report.tally import Reservoir


def _scores(row: dict[str, Any]) -> dict[str, float]:
    meta = row.get("meta")
    found = meta.get("scores") if isinstance(meta, dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: float(v) for k, v in found.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class _Side:
    def __init__(self, k: int, seed: int) -> None:
        self.count, self.total, self.lo, self.hi, self.integer = 0, 0.0, float("inf"), float("-inf"), True
        self.values: Reservoir[float] = Reservoir(k, seed)

    def add(self, v: float) -> None:
        self.count += 1
        self.total += v
        self.lo, self.hi = min(self.lo, v), max(self.hi, v)
        self.integer = self.integer and v.is_integer()
        self.values.add(v)

    def summary(self) -> dict[str, Any]:
        if not self.count:
            return {"count": 0}
        out = {"count": self.count, "mean": round(self.total / self.count, 4),
               "median": float(np.median(self.values.sample())), "min": self.lo, "max": self.hi}
        return out if self.count == len(self.values.items) else {**out, "sampled": len(self.values.items)}


class ScoreStats:
    def __init__(self, k: int, seed: int = 0) -> None:
        self.k, self.seed = k, seed
        self.sides: dict[tuple[str, str], _Side] = {}

    def _add(self, side: str, row: dict[str, Any]) -> None:
        for name, v in _scores(row).items():
            entry = self.sides.get((name, side))
            if entry is None:
                entry = self.sides[(name, side)] = _Side(self.k, self.seed)
            entry.add(v)

    def kept(self, row: dict[str, Any]) -> None:
        self._add("kept", row)

    def dropped(self, item: dict[str, Any]) -> None:
        self._add("dropped", item)

    def report(self) -> dict[str, Any]:
        empty = _Side(self.k, self.seed)
        out = {}
        for name in sorted({n for n, _ in self.sides}):
            kept, dropped = self.sides.get((name, "kept"), empty), self.sides.get((name, "dropped"), empty)
            lo, hi = min(kept.lo, dropped.lo), max(kept.hi, dropped.hi)
            integer = kept.integer and dropped.integer and hi - lo <= 20
            edges = (np.arange(lo - 0.5, hi + 1.5) if integer else np.linspace(lo, hi if hi > lo else lo + 1, 21))
            out[name] = {"kept": kept.summary(), "dropped": dropped.summary(),
                         "edges": [round(float(e), 4) for e in edges],
                         "kept_counts": np.histogram(kept.values.sample(), bins=edges)[0].tolist(),
                         "dropped_counts": np.histogram(dropped.values.sample(), bins=edges)[0].tolist()}
        return out


def scores(accepted_rows: list[dict[str, Any]], rejected_rows: list[dict[str, Any]],
           k: int = 20_000) -> dict[str, Any]:
    """The score figures of rows held in memory (rejected rows as in rejected.jsonl: {stage, reason, item})."""
    stats = ScoreStats(k)
    for row in accepted_rows:
        stats.kept(row)
    for rej in rejected_rows:
        if isinstance(rej.get("item"), dict):
            stats.dropped(rej["item"])
    return stats.report()
