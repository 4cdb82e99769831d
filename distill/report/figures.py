"""Which plot each report section gets, drawn from report.json's figures (and the per-text arrays)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from distill.report import plots
from distill.report.plots import DROP, REAL, SYN
from distill.report.tally import Tally


def _lengths(report: dict[str, Any], arrays: Any, part: str) -> Any:
    series = [("synthetic", arrays.lengths.get(part, Tally()), SYN)]
    if len(arrays.real_lengths.get(part, Tally())):
        series.append(("real", arrays.real_lengths[part], REAL))
    return lambda ax: plots.draw_hist(ax, series, f"{part.capitalize()}: length", "tokens")


def _selfsim(report: dict[str, Any]) -> Any:
    s = report["self_similarity"]
    series = [(label, s[key], color) for key, label, color in
              (("to_rest", "vs the rest of the set", SYN), ("to_seeds", "vs the seed instructions", REAL))
              if key in s]
    return lambda ax: plots.draw_binned(ax, series, "Highest ROUGE-L of each instruction", "ROUGE-L F1",
                                        threshold=s.get("to_rest", {}).get("threshold"))


def figures(report: dict[str, Any], arrays: Any) -> dict[str, str]:
    out = {"funnel": plots.svg(lambda ax: plots.draw_funnel(ax, report["funnel"]),
                               height=1.2 + 0.35 * len(report["funnel"]["stages"]))}
    for part in ("instructions", "responses"):
        out[f"lengths_{part}"] = plots.svg(_lengths(report, arrays, part), width=4.6, height=3.0)
    if "to_rest" in report["self_similarity"] or "to_seeds" in report["self_similarity"]:
        out["self_similarity"] = plots.svg(_selfsim(report))
    if report["verbs"]["top"]:
        out["verbs"] = plots.svg(lambda ax: plots.draw_sunburst(ax, report["verbs"]), width=6.4, height=6.4)
    sem = report.get("semantic")
    if sem:
        top = sem["clusters"][:20]
        out["clusters"] = plots.svg(lambda ax: plots.draw_bars(
            ax, [f"{c['cluster']}: {c['label']}" for c in top], [("texts", [c["size"] for c in top], SYN)],
            "Clusters of instructions (k-means on embeddings)", "texts"), height=1.0 + 0.22 * len(top))
        nn = sem["nearest_neighbour"]
        out["nearest"] = plots.svg(lambda ax: plots.draw_binned(
            ax, [("nearest neighbour", nn, SYN)], "Cosine to the nearest other instruction", "cosine",
            threshold=sem["near_duplicates"]["threshold"]))
        if "synthetic" in arrays.map:
            xy, colour = arrays.map["synthetic"]
            out["map"] = plots.svg(lambda ax: plots.draw_map(ax, [("instructions", xy, colour)],
                                                             "Instructions (PCA of embeddings, colour = cluster)"),
                                   width=5.0, height=4.2)
    for name, d in report["scores"].items():
        out[f"scores_{name}"] = plots.svg(partial(plots.draw_scores, name=name, d=d), width=5.0, height=3.0)
    for bench in report.get("contamination") or []:
        if bench.get("embedding"):
            e = bench["embedding"]
            out[f"contamination_{bench['name']}"] = plots.svg(partial(
                plots.draw_binned, series=[("nearest benchmark question", e, DROP)],
                title=f"Cosine to the nearest question of {bench['name']}", xlabel="cosine",
                threshold=e["threshold"]), width=5.0, height=3.0)
    ref = report.get("reference")
    if ref and ref.get("coverage"):
        cl = sorted(ref["coverage"]["clusters"], key=lambda c: -c["real_share"])
        out["coverage"] = plots.svg(lambda ax: plots.draw_bars(
            ax, [f"{c['cluster']}: {c['label']}" + ("" if c["reached"] else " (not reached)") for c in cl],
            [("real", [c["real_share"] for c in cl], REAL), ("synthetic", [c["synthetic_share"] for c in cl], SYN)],
            "Real clusters: share of real vs synthetic texts", "share"), height=1.2 + 0.3 * len(cl))
    if "reference" in arrays.map:
        a, b = arrays.map["reference"]
        out["reference_map"] = plots.svg(lambda ax: plots.draw_map(ax, [("real", b, REAL), ("synthetic", a, SYN)],
                                                                   "Real and synthetic instructions (PCA)"),
                                         width=5.0, height=4.2)
    return out


def overview_png(report: dict[str, Any], arrays: Any, path: Path) -> None:
    """The card's image: funnel, instruction lengths (against the reference when there is one), ROUGE-L."""
    draws = [lambda ax: plots.draw_funnel(ax, report["funnel"]), _lengths(report, arrays, "instructions")]
    if "to_rest" in report["self_similarity"]:
        draws.append(_selfsim(report))
    plots.png(draws, path)
