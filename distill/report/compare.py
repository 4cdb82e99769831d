"""`distill compare`: runs side by side (two teachers, two temperatures, before and after a filter): one table of
every run's headline figures and plots that overlay the runs' distributions, in compare.html and compare.json."""

from __future__ import annotations

import json
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

from distill.report.build import Options, build
from distill.run.folder import write_atomic

COLOURS = ["#3b6fb6", "#e08a2e", "#3d9a5b", "#c8553d", "#7b5ea7", "#8c6d31", "#d36ba6", "#555555"]
ROWS = [("records", ("records",)), ("accepted / inputs", None),
        ("median instruction tokens", ("lengths", "instructions", "median")),
        ("median response tokens", ("lengths", "responses", "median")),
        ("distinct-2 instructions", ("lexical", "instructions", "distinct_2")),
        ("distinct-2 responses", ("lexical", "responses", "distinct_2")),
        ("compression ratio, responses", ("lexical", "responses", "compression_ratio")),
        ("mean highest ROUGE-L", ("self_similarity", "to_rest", "mean")),
        ("share ROUGE-L > 0.7", ("self_similarity", "to_rest", "over_threshold")),
        ("unique root verbs", ("verbs", "unique_verbs")),
        ("effective clusters", ("semantic", "effective_clusters")),
        ("mean pairwise cosine distance", ("semantic", "mean_cosine_distance")),
        ("near-duplicate pairs", ("semantic", "near_duplicates", "pairs")),
        ("real vs synthetic AUC", ("headline", "real_vs_synthetic_auc")),
        ("coverage of real clusters", ("headline", "coverage_of_real_clusters")),
        ("verdict", ("verdict", "status"))]


def _get(d: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _names(paths: list[Path]) -> list[str]:
    names = [p.name for p in paths]
    return names if len(set(names)) == len(names) else [str(p) for p in paths]


def compare(paths: list[Path], opts: Options, training: dict[str, Any] | None = None
            ) -> tuple[dict[str, Any], str]:
    built = [build(p, opts) for p in paths]
    names = _names(paths)
    table: list[dict[str, Any]] = []
    for label, path in ROWS:
        row: dict[str, Any] = {"figure": label}
        for name, (r, _) in zip(names, built, strict=True):
            row[name] = (f"{r['funnel']['accepted']} / {r['funnel']['inputs']}" if path is None else _get(r, path))
        table.append(row)
    runs = zip(names, paths, built, strict=True)
    data: dict[str, Any] = {"runs": [{"name": n, "path": str(p), "report": r} for n, p, (r, _) in runs],
                            "table": table}
    if training is not None:
        data["training"] = training
    return data, _page(data, names, built)


def _figures(names: list[str], built: list[Any]) -> list[str]:
    from distill.report import plots

    colours = [COLOURS[i % len(COLOURS)] for i in range(len(names))]
    out = []
    for part in ("instructions", "responses"):
        series = [(n, a.lengths[part], c) for n, (_, a), c in zip(names, built, colours, strict=True)]
        out.append(plots.svg(partial(_hist, series=series, title=f"{part.capitalize()}: length"), width=5.0,
                             height=3.0))
    series = [(n, r["self_similarity"]["to_rest"], c) for n, (r, _), c in zip(names, built, colours, strict=True)
              if "to_rest" in r["self_similarity"]]
    if series:
        out.append(plots.svg(lambda ax: plots.draw_binned(ax, series, "Highest ROUGE-L of each instruction",
                                                          "ROUGE-L F1", threshold=0.7), width=5.0, height=3.0))
    series = [(n, r["semantic"]["nearest_neighbour"], c) for n, (r, _), c in zip(names, built, colours, strict=True)
              if r.get("semantic")]
    if series:
        out.append(plots.svg(lambda ax: plots.draw_binned(ax, series, "Cosine to the nearest other instruction",
                                                          "cosine"), width=5.0, height=3.0))
    for score in sorted({s for r, _ in built for s in r["scores"]}):
        series = [(n, {"edges": r["scores"][score]["edges"], "counts": r["scores"][score]["kept_counts"]}, c)
                  for n, (r, _), c in zip(names, built, colours, strict=True) if score in r["scores"]]
        out.append(plots.svg(partial(_binned, series=series, title=f"{score} of kept records"), width=5.0,
                             height=3.0))
    return out


def _training(summary: dict[str, Any] | None) -> str:
    """The `--train` section: each student's figures with their intervals, the paired test, the verdict."""
    if not summary:
        return ""
    from distill.publish.card_eval import columns, paired_line
    from distill.report.html import table

    ev = summary["evaluation"]
    cols = columns(ev)
    rows = [{"model": m.get("label") or m["model"], **{c[0]: c[2](m.get(c[1])) for c in cols}} for m in ev["models"]]
    budget = ", ".join(f"{k}: {v} examples" for k, v in summary["budget"]["examples"].items())
    return (f'<section id="training"><h2>Does the data help?</h2><p>The student <code>{escape(summary["student"])}'
            f'</code> trained on each run with the same budget ({escape(budget)}), measured on '
            f'{ev["questions"]} held-out questions of <code>{escape(str(ev["heldout"]))}</code> (greedy answers, '
            f'95% Wilson intervals).</p>{table(rows, ["model", *[c[0] for c in cols]])}'
            f'<p class="verdict">{escape(summary["verdict"])}</p><p>Paired: {escape(paired_line(summary["paired"]))}'
            f"</p></section>")


def _page(data: dict[str, Any], names: list[str], built: list[Any]) -> str:
    from distill.report.html import CSS, table

    figs = "".join(f'<figure class="plot" data-plot="compare-{i}">{s}</figure>'
                   for i, s in enumerate(_figures(names, built)))
    verdicts = "".join(f"<li><strong>{escape(n)}</strong>: {escape(r['verdict']['headline'])} "
                       f"{escape(' '.join(r['verdict']['findings']))}</li>"
                       for n, (r, _) in zip(names, built, strict=True))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>distill compare</title>'
            f"<style>{CSS}</style></head><body><h1>Runs side by side</h1><ul>{verdicts}</ul>"
            f"{_training(data.get('training'))}"
            f"{table(data['table'], ['figure', *names])}{figs}</body></html>\n")


def write(paths: list[Path], out: Path, opts: Options, training: dict[str, Any] | None = None) -> dict[str, Any]:
    """compare.json and compare.html; with `training` (`distill compare --train`), its section on the page."""
    data, page = compare(paths, opts, training)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "compare.json", json.dumps(data, indent=1, ensure_ascii=False))
    write_atomic(out / "compare.html", page)
    return data


def _hist(ax: Any, series: list[Any], title: str) -> None:
    from distill.report import plots

    plots.draw_hist(ax, series, title, "tokens")


def _binned(ax: Any, series: list[Any], title: str) -> None:
    from distill.report import plots

    plots.draw_binned(ax, series, title, "score")
