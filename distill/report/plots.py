"""The report's plots: matplotlib (Agg) figures saved as inline SVG (text kept as text, so the page is small and
searchable) and one PNG overview for the dataset card. Each `draw_*` draws on a given axes from the report's
own JSON figures, so what is plotted is exactly what report.json holds."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from distill.report.tally import Tally
from distill.run.folder import write_atomic

SYN, REAL, DROP = "#3b6fb6", "#e08a2e", "#c8553d"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # text.parse_math off: every label is the user's text as written (a run named `cost_$0.15_vs_$0.60`, a score
    # or stage name with `$`), never matplotlib math, which failed to parse it and stopped `distill compare`
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "distill", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False, "text.parse_math": False})
    return plt


def svg(draw: Callable[[Any], None], width: float = 6.4, height: float = 3.2) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def png(draws: list[Callable[[Any], None]], path: Any, width: float = 12.0, height: float = 3.4) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, len(draws), figsize=(width, height))
    try:
        for ax, draw in zip(np.atleast_1d(axes), draws, strict=True):
            draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
        write_atomic(Path(path), buf.getvalue())
    finally:
        plt.close(fig)


def draw_funnel(ax: Any, f: dict[str, Any]) -> None:
    names = ["input"] + [s["stage"] for s in f["stages"]] + ["accepted"]
    kept = [f["inputs"]] + [s["accepted"] for s in f["stages"]] + [f["accepted"]]
    rejected = [0] + [s["rejected"] for s in f["stages"]] + [0]
    failed = [0] + [s["failed"] for s in f["stages"]] + [0]
    y = np.arange(len(names))[::-1]
    ax.barh(y, kept, color=SYN, label="passed")
    ax.barh(y, rejected, left=kept, color=DROP, label="rejected")
    ax.barh(y, failed, left=np.add(kept, rejected), color="#999999", label="failed")
    for yi, k in zip(y, kept, strict=True):
        ax.text(k, yi, f" {k}", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlabel("items")
    ax.set_title("Funnel")
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def draw_hist(ax: Any, series: list[tuple[str, Tally, str]], title: str, xlabel: str, bins: int = 30) -> None:
    """Each series' share of texts per bin, from its tally of values (so a million rows cost no more)."""
    data = [s for _, s, _ in series if len(s)]
    if not data:
        ax.set_title(f"{title} (no data)")
        return
    hi = max(s.percentiles([99])[0] for s in data) or 1.0
    edges = np.linspace(0, hi, bins + 1)
    for label, tally, color in series:
        if len(tally):
            values, counts = tally.arrays()
            ax.hist(np.clip(values, 0, hi), bins=edges, alpha=0.6, color=color, label=label,
                    weights=counts / counts.sum())
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share")
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=7)


def draw_binned(ax: Any, series: list[tuple[str, dict[str, Any], str]], title: str, xlabel: str,
                threshold: float | None = None) -> None:
    for label, d, color in series:
        edges, counts = np.array(d["edges"]), np.array(d["counts"], dtype=float)
        total = counts.sum() or 1.0
        ax.stairs(counts / total, edges, fill=True, alpha=0.55, color=color, label=label)
    if threshold is not None:
        ax.axvline(threshold, color="#444444", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share")
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=7)


def draw_sunburst(ax: Any, v: dict[str, Any]) -> None:
    top = v["top"]
    if not top:
        ax.set_title("Verb-object structure (no imperative instructions)")
        ax.axis("off")
        return
    cmap = _plt().get_cmap("tab20")
    inner = [t["count"] for t in top]
    outer, outer_labels, outer_colors = [], [], []
    for i, t in enumerate(top):
        rest = t["count"] - sum(o["count"] for o in t["objects"])
        for o in t["objects"]:
            outer += [o["count"]]
            outer_labels += [o["object"] if o["count"] / sum(inner) > 0.015 else ""]
            outer_colors += [cmap(i % 20)]
        if rest > 0:
            outer += [rest]
            outer_labels += [""]
            outer_colors += ["#eeeeee"]
    ax.pie(inner, radius=0.65, labels=[t["verb"] if t["count"] / sum(inner) > 0.02 else "" for t in top],
           labeldistance=0.45, colors=[cmap(i % 20) for i in range(len(top))], textprops={"fontsize": 7},
           wedgeprops={"width": 0.45, "edgecolor": "white"})
    ax.pie(outer, radius=1.0, labels=outer_labels, labeldistance=0.82, colors=outer_colors,
           textprops={"fontsize": 6}, wedgeprops={"width": 0.35, "edgecolor": "white", "alpha": 0.75})
    ax.set_title("Root verbs (inner) and their direct objects (outer)")
    ax.set_aspect("equal")


def draw_bars(ax: Any, labels: list[str], series: list[tuple[str, list[float], str]], title: str,
              xlabel: str) -> None:
    y = np.arange(len(labels))[::-1]
    height = 0.8 / max(1, len(series))
    for i, (name, values, color) in enumerate(series):
        ax.barh(y - i * height, values, height=height, color=color, label=name)
    ax.set_yticks(y - height * (len(series) - 1) / 2, [lbl[:40] for lbl in labels], fontsize=7)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=7)


def draw_map(ax: Any, points: list[tuple[str, np.ndarray, Any]], title: str) -> None:
    for label, xy, color in points:
        ax.scatter(xy[:, 0], xy[:, 1], s=6, c=color, alpha=0.6, label=label, linewidths=0,
                   cmap="tab20" if not isinstance(color, str) else None)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    if len(points) > 1:
        ax.legend(frameon=False, fontsize=7, markerscale=2)


def draw_scores(ax: Any, name: str, d: dict[str, Any]) -> None:
    edges = np.array(d["edges"])
    kept, dropped = np.array(d["kept_counts"]), np.array(d["dropped_counts"])
    ax.stairs(kept + dropped, edges, fill=True, color=DROP, alpha=0.7, label="dropped")
    ax.stairs(kept, edges, fill=True, color=SYN, alpha=0.9, label="kept")
    ax.set_title(f"{name}: kept vs dropped")
    ax.set_xlabel("score")
    ax.set_ylabel("records")
    ax.legend(frameon=False, fontsize=7)
