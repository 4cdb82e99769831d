"""Building a run's report: every section's figures into one dict (report.json), the plots into one
self-contained page (report.html) and an overview image for the dataset card (report.png)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distill.report import lengths, lexical, selfsim, verbs
from distill.report.funnel import funnel
from distill.report.scores import scores
from distill.report.sources import Run, load_run, load_set
from distill.run.folder import write_atomic


@dataclass
class Options:
    reference: str | None = None
    benchmarks: list[str] = field(default_factory=list)
    embeddings: bool = True
    embedding_model: str = "default"
    sample: int = 1000
    seeds: str | None = None
    split: str = "train"


@dataclass
class Arrays:
    """What the plots need beyond report.json: per-text values and 2-D coordinates."""

    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    real_lengths: dict[str, np.ndarray] = field(default_factory=dict)
    map: dict[str, Any] = field(default_factory=dict)


def _seeds(run: Run, opts: Options) -> list[str]:
    from distill.report.sources import read_rows, text_set

    candidates = [opts.seeds] if opts.seeds else []
    given = ((run.manifest.get("config") or {}).get("options") or {}).get("seeds")
    if isinstance(given, str) and not opts.seeds:
        from distill.prompts import prompts_dir

        candidates += [given, str(run.path / given), str(prompts_dir().parent / "recipes" / given),
                       str(Path(__file__).resolve().parents[2] / "recipes" / given)]
    for c in candidates:
        if c and Path(c).is_file():
            return text_set("seeds", read_rows(Path(c))).instructions
    return []


def _histogram(counts: np.ndarray) -> dict[str, Any]:
    hi = max(1.0, float(np.percentile(counts, 99))) if len(counts) else 1.0
    hist, edges = np.histogram(np.clip(counts, 0, hi), bins=30, range=(0, hi))
    return {"edges": [round(float(e), 2) for e in edges], "counts": hist.tolist()}


class Timer:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.times[name] = round(self.times.get(name, 0.0) + time.perf_counter() - t0, 3)


def build(run_dir: Path, opts: Options) -> tuple[dict[str, Any], Arrays]:
    timer = Timer()
    run = timer("read", load_run, run_dir)
    syn = run.accepted
    m = run.manifest
    report: dict[str, Any] = {"run": str(run_dir), "name": m.get("name"), "recipe": m.get("recipe"),
                              "teacher": m.get("teacher"), "records": len(syn)}
    arrays = Arrays()
    report["funnel"] = funnel(m)
    report["lengths"] = {}
    for part in ("instructions", "responses"):
        counts = timer("lengths", lengths.token_counts, getattr(syn, part))
        arrays.lengths[part] = counts
        report["lengths"][part] = {**lengths.summary(counts), "histogram": _histogram(counts)}
    report["lexical"] = {part: timer("lexical", lexical.diversity, getattr(syn, part), opts.sample)
                         for part in ("instructions", "responses")}
    report["self_similarity"] = timer("self_similarity", selfsim.self_similarity, syn.instructions, opts.sample,
                                      _seeds(run, opts))
    report["verbs"] = timer("verbs", verbs.structure, syn.instructions)
    report["scores"] = timer("scores", scores, syn.rows, run.rejected)
    cache, xs = _embeddings(run_dir, opts, report, syn.instructions, timer)
    if xs is not None and len(xs) >= 2:
        from distill.report.semantic import projection, semantic

        sem = timer("semantic", semantic, xs, syn.instructions, opts.sample)
        assign = sem.pop("assign")
        idx, xy = timer("semantic", projection, xs)
        arrays.map["synthetic"] = (xy, assign[idx])
        report["semantic"] = sem
    if opts.reference:
        _reference(opts, report, syn, cache, xs, arrays, timer)
    if opts.benchmarks:
        report["contamination"] = timer("contamination", _contamination, opts, syn.instructions, cache, xs)
    from distill.report.verdict import verdict

    report["verdict"] = verdict(report)
    report["headline"] = headline(report)
    if cache is not None:
        report["embeddings"] = {**cache.stats, "seconds": round(cache.stats["seconds"], 3),
                                "load_seconds": round(cache.stats["load_seconds"], 3),
                                "rate_per_second": round(cache.stats["new"] / cache.stats["seconds"], 1)
                                if cache.stats["seconds"] else None}
    report["timings"] = timer.times
    return report, arrays


def _embeddings(run_dir: Path, opts: Options, report: dict[str, Any], texts: list[str],
                timer: Timer) -> tuple[Any, np.ndarray | None]:
    from distill.report.embed import EmbeddingCache, EmbeddingsUnavailable

    if not opts.embeddings:
        report["embeddings"] = {"skipped": "embeddings were turned off (the run-end report skips them to stay "
                                           "cheap; `distill report RUN` computes them)"}
        return None, None
    cache = EmbeddingCache(run_dir, opts.embedding_model)
    try:
        return cache, timer("embeddings", cache.embed, texts)
    except EmbeddingsUnavailable as exc:
        report["embeddings"] = {"skipped": str(exc)}
        return None, None


def _reference(opts: Options, report: dict[str, Any], syn: Any, cache: Any, xs: np.ndarray | None,
               arrays: Arrays, timer: Timer) -> None:
    from distill.report import reference

    real = timer("read", load_set, str(opts.reference), opts.split)
    xr = timer("embeddings", cache.embed, real.instructions) if cache is not None else None
    report["reference"] = timer("reference", reference.compare, syn, real, opts.sample, xs, xr)
    for part in ("instructions", "responses"):
        if any(t.strip() for t in getattr(real, part)):  # a reference of prompts only has no response lengths
            arrays.real_lengths[part] = lengths.token_counts(getattr(real, part))
    if xs is not None and xr is not None and len(xr) >= 2:
        from sklearn.decomposition import PCA

        rng = np.random.default_rng(0)
        a = xs[rng.choice(len(xs), min(1000, len(xs)), replace=False)]
        b = xr[rng.choice(len(xr), min(1000, len(xr)), replace=False)]
        pca = PCA(n_components=2, random_state=0).fit(np.vstack([a, b]))
        arrays.map["reference"] = (pca.transform(a), pca.transform(b))


def _contamination(opts: Options, texts: list[str], cache: Any, xs: np.ndarray | None) -> list[dict[str, Any]]:
    from distill.report.contamination import embedding_neighbours, ngram_overlap

    out = []
    for path in opts.benchmarks:
        bench = load_set(path)
        where = [Path(path).name] * len(bench)
        entry: dict[str, Any] = {"name": Path(path).name, "questions": len(bench),
                                 "ngram": ngram_overlap(texts, bench.instructions, where)}
        if cache is not None and xs is not None:
            entry["embedding"] = embedding_neighbours(xs, cache.embed(bench.instructions), texts,
                                                      bench.instructions, where)
        out.append(entry)
    return out


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The few figures the dataset card shows."""
    h: dict[str, Any] = {"records": report["records"],
                         "median_instruction_tokens": report["lengths"]["instructions"].get("median"),
                         "median_response_tokens": report["lengths"]["responses"].get("median"),
                         "distinct_2_instructions": report["lexical"]["instructions"]["distinct_2"],
                         "distinct_2_responses": report["lexical"]["responses"]["distinct_2"]}
    rest = report["self_similarity"].get("to_rest")
    if rest:
        h["rouge_l_over_0.7"] = rest["over_threshold"]
    if report.get("semantic"):
        h["clusters"] = report["semantic"]["k"]
        h["near_duplicate_pairs"] = report["semantic"]["near_duplicates"]["pairs"]
    for bench in report.get("contamination") or []:
        h[f"contaminated_{bench['name']}"] = bench["ngram"]["contaminated"]
    ref = report.get("reference")
    if ref:
        h["reference"] = ref["name"]
        clf = ref["classifier"].get("embedding") or ref["classifier"].get("lexical")
        if clf:
            h["real_vs_synthetic_auc"] = clf["auc"]
        if ref.get("coverage"):
            h["coverage_of_real_clusters"] = ref["coverage"]["coverage"]
    h["verdict"] = report["verdict"]["status"]
    return h


def write(run_dir: Path, opts: Options) -> dict[str, Any]:
    from distill.report.html import render

    report, arrays = build(run_dir, opts)
    t0 = time.perf_counter()
    page = render(report, arrays)
    try:
        from distill.report.figures import overview_png

        overview_png(report, arrays, run_dir / "report.png")
        report["image"] = "report.png"
    except ImportError:  # no matplotlib: the page says so; the card goes without an image
        (run_dir / "report.png").unlink(missing_ok=True)
        report["image"] = None
    report["timings"]["render"] = round(time.perf_counter() - t0, 3)
    write_atomic(run_dir / "report.json", json.dumps(report, indent=1, ensure_ascii=False, default=_plain))
    write_atomic(run_dir / "report.html", page)
    return report


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")
