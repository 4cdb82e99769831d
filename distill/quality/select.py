"""Selection: which scored candidates become the dataset. Absolute thresholds, top quantiles and top-k per
group, combined with all/any. Runs once every candidate has its scores, over columns of floats (a million
candidates cost a few MB), and is deterministic: ties break by each record's place in the final files (its order
key), not by the order in which candidates happened to be scored."""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from distill.quality.config import SelectRule, SelectSpec

NAN = float("nan")


@dataclass
class ScoreTable:
    n: int = 0
    columns: dict[str, array] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)  # each candidate's order key, for ties

    def add(self, scores: dict[str, float], groups: dict[str, str], order: str = "") -> None:
        self.orders.append(order)
        for name, value in scores.items():
            col = self.columns.get(name)
            if col is None:
                col = self.columns[name] = array("d", [NAN] * self.n)
            col.append(float(value))
        self.n += 1
        for col in self.columns.values():
            if len(col) < self.n:
                col.append(NAN)
        for name, label in groups.items():
            self.groups.setdefault(name, []).append(label)

    def column(self, name: str) -> array:
        return self.columns.get(name) or array("d", [NAN] * self.n)


def _top(indices: list[int], values: array, orders: list[str], k: int) -> set[int]:
    ranked = sorted((i for i in indices if not math.isnan(values[i])), key=lambda i: (-values[i], orders[i]))
    return set(ranked[:k])


def rule_mask(table: ScoreTable, rule: SelectRule) -> list[bool]:
    values = table.column(rule.score)
    keep = [not math.isnan(v) for v in values]
    if rule.min is not None:
        keep = [k and v >= rule.min for k, v in zip(keep, values, strict=True)]
    if rule.max is not None:
        keep = [k and v <= rule.max for k, v in zip(keep, values, strict=True)]
    if rule.top_k is not None or rule.top_quantile is not None:
        buckets: dict[str, list[int]] = defaultdict(list)
        labels = table.groups.get(rule.group_by or "", [""] * table.n) if rule.group_by else [""] * table.n
        for i, label in enumerate(labels):
            buckets[label].append(i)
        chosen: set[int] = set()
        for members in buckets.values():
            scored = sum(1 for i in members if not math.isnan(values[i]))
            k = rule.top_k if rule.top_k is not None else max(1, math.ceil(rule.top_quantile * scored))  # type: ignore[operator]
            if rule.top_k is not None and rule.top_quantile is not None:
                k = min(k, max(1, math.ceil(rule.top_quantile * scored)))
            chosen |= _top(members, values, table.orders, k)
        keep = [k and i in chosen for i, k in enumerate(keep)]
    return keep


def select(table: ScoreTable, spec: SelectSpec) -> tuple[list[bool], list[str | None], dict[str, Any]]:
    """(keep per candidate, rejection reason per candidate, per-rule counts for the manifest)."""
    masks = [rule_mask(table, r) for r in spec.rules]
    keep: list[bool] = []
    reasons: list[str | None] = []
    for i in range(table.n):
        passed = [m[i] for m in masks]
        ok = all(passed) if spec.mode == "all" else any(passed)
        keep.append(ok)
        if ok:
            reasons.append(None)
        elif spec.mode == "all":
            reasons.append("select: " + spec.rules[passed.index(False)].label())
        else:
            reasons.append("select: no rule passed")
    stats: dict[str, Any] = {"mode": spec.mode, "candidates": table.n, "kept": sum(keep),
             "rules": [{"rule": r.label(), "passed": sum(m)} for r, m in zip(spec.rules, masks, strict=True)]}
    return keep, reasons, stats


def distribution(values: array, bins: int = 10) -> dict[str, Any]:
    """Summary and histogram of one score column, for the manifest and the dataset card."""
    xs = [v for v in values if not math.isnan(v)]
    if not xs:
        return {"count": 0}
    lo, hi = min(xs), max(xs)
    integral = all(float(x).is_integer() for x in xs) and hi - lo <= 20
    if integral:
        counts = {str(int(v)): 0 for v in range(int(lo), int(hi) + 1)}
        for x in xs:
            counts[str(int(x))] += 1
        hist: dict[str, Any] = {"values": counts}
    else:
        width = (hi - lo) / bins or 1.0
        counts_list = [0] * bins
        for x in xs:
            counts_list[min(bins - 1, int((x - lo) / width))] += 1
        hist = {"edges": [round(lo + i * width, 6) for i in range(bins + 1)], "counts": counts_list}
    return {"count": len(xs), "mean": round(sum(xs) / len(xs), 6), "min": lo, "max": hi, **hist}


def histogram(stats: dict[str, Any]) -> dict[str, int]:
    """A score's histogram from its `distribution`: the count of each value, or of each bin by its lower edge
    (`edges` holds one more: the last bin's upper edge, which labels no bin)."""
    return stats.get("values") or dict(zip((f"{e:g}" for e in stats.get("edges", [])), stats.get("counts", []),
                                           strict=False))
