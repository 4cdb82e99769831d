"""Judge and reward score distributions, split into what the run kept and what it dropped after scoring
(records in rejected.jsonl that carry scores: the selection's and the gate's rejections)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np


def _scores(row: dict[str, Any]) -> dict[str, float]:
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
    found = meta.get("scores") if isinstance(meta.get("scores"), dict) else {}
    return {k: float(v) for k, v in found.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    a = np.array(values)
    return {"count": len(a), "mean": round(float(a.mean()), 4), "median": float(np.median(a)),
            "min": float(a.min()), "max": float(a.max())}


def scores(accepted_rows: list[dict[str, Any]], rejected_rows: list[dict[str, Any]]) -> dict[str, Any]:
    kept: dict[str, list[float]] = defaultdict(list)
    dropped: dict[str, list[float]] = defaultdict(list)
    for row in accepted_rows:
        for k, v in _scores(row).items():
            kept[k].append(v)
    for rej in rejected_rows:
        item = rej.get("item") if isinstance(rej.get("item"), dict) else {}
        for k, v in _scores(item).items():
            dropped[k].append(v)
    out = {}
    for name in sorted(set(kept) | set(dropped)):
        values = kept[name] + dropped[name]
        lo, hi = min(values), max(values)
        integer = all(float(v).is_integer() for v in values) and hi - lo <= 20
        edges = (np.arange(lo - 0.5, hi + 1.5) if integer else np.linspace(lo, hi if hi > lo else lo + 1, 21))
        out[name] = {"kept": _summary(kept[name]), "dropped": _summary(dropped[name]),
                     "edges": [round(float(e), 4) for e in edges],
                     "kept_counts": np.histogram(kept[name], bins=edges)[0].tolist(),
                     "dropped_counts": np.histogram(dropped[name], bins=edges)[0].tolist()}
    return out
