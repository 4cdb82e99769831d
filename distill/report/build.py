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
from distill.report.sources import Run, TextSet, iter_rows, load_run, load_set, seeds_file, text_set
from distill.report.tally import Tally
from distill.run.folder import write_atomic

SAMPLE = 20_000  # rows the per-text figures are computed on (report.sample, --sample)
QUERIES = 1_000  # of those: self-similarity queries, the lexical and nearest-neighbour samples
SEED = 0


@dataclass
class Options:
    reference: str | None = None
    benchmarks: list[str] = field(default_factory=list)
    embeddings: bool = True
    embedding_model: str = "default"
    sample: int = SAMPLE
    seeds: str | None = None
    split: str = "train"


@dataclass
class Arrays:
    """What the plots need beyond report.json: length tallies and 2-D coordinates."""

    lengths: dict[str, Tally] = field(default_factory=dict)
    real_lengths: dict[str, Tally] = field(default_factory=dict)
    map: dict[str, Any] = field(default_factory=dict)


def _seeds(run: Run, opts: Options) -> list[str]:
    path = seeds_file(run.path, run.manifest, opts.seeds)
    return text_set("seeds", iter_rows(path)).instructions if path else []


def sample_note(sample: dict[str, Any]) -> str:
    if sample["rows"] >= sample["of"]:
        return f"Every figure covers all {sample['of']:,} accepted records."
    return (f"Counts, lengths, scores' count/mean/min/max and benchmark n-gram overlap cover all {sample['of']:,} "
            f"accepted records; the per-text figures (lexical diversity, self-similarity, verbs, embeddings) were "
            f"computed on a seeded uniform sample of {sample['rows']:,} of {sample['of']:,} records "
            f"(report.sample / --sample).")


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
    if opts.reference:
        from distill.report.reference import require_libraries

        require_libraries()
    timer = Timer()
    checks = timer("read", _benchmark_checks, opts)
    visit = (lambda i, text: [c.check(i, text) for _, c in checks]) if checks else None
    run = timer("read", load_run, run_dir, opts.sample, SEED, visit)
    syn = run.sample
    m = run.manifest
    report: dict[str, Any] = {"run": str(run_dir), "name": m.get("name"), "recipe": m.get("recipe"),
                              "teacher": m.get("teacher"), "records": syn.total}
    report["sample"] = {"rows": len(syn), "of": syn.total, "seed": SEED, "queries": min(QUERIES, len(syn))}
    report["sample"]["note"] = sample_note(report["sample"])
    arrays = Arrays(lengths=run.lengths)
    report["funnel"] = funnel(m)
    report["rejected_rows"] = run.rejected_rows
    report["lengths"] = {part: {**lengths.summary(t), "histogram": lengths.histogram(t)}
                         for part, t in run.lengths.items()}
    report["lexical"] = {part: timer("lexical", lexical.diversity, getattr(syn, part), QUERIES)
                         for part in ("instructions", "responses")}
    report["self_similarity"] = timer("self_similarity", selfsim.self_similarity, syn.instructions, QUERIES,
                                      _seeds(run, opts))
    report["verbs"] = timer("verbs", verbs.structure, syn.instructions)
    report["scores"] = timer("scores", run.scores.report)
    traces = run.traces.report(m)
    if traces is not None:
        report["traces"] = traces
    cache, xs = _embeddings(run_dir, opts, report, syn.instructions, timer)
    if xs is not None and len(xs) >= 2:
        from distill.report.semantic import projection, semantic

        sem = timer("semantic", semantic, xs, syn.instructions, QUERIES)
        assign = sem.pop("assign")
        idx, xy = timer("semantic", projection, xs)
        arrays.map["synthetic"] = (xy, assign[idx])
        report["semantic"] = sem
    if opts.reference:
        _reference(opts, report, syn, cache, xs, arrays, timer)
    if checks:
        report["contamination"] = timer("contamination", _contamination, checks, syn, cache, xs)
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


def _reference(opts: Options, report: dict[str, Any], syn: TextSet, cache: Any, xs: np.ndarray | None,
               arrays: Arrays, timer: Timer) -> None:
    from distill.report import reference

    real = timer("read", load_set, str(opts.reference), opts.split, opts.sample, SEED)
    xr = timer("embeddings", cache.embed, real.instructions) if cache is not None else None
    report["reference"] = timer("reference", reference.compare, syn, real, QUERIES, xs, xr)
    for part in ("instructions", "responses"):
        if any(t.strip() for t in getattr(real, part)):  # a reference of prompts only has no response lengths
            arrays.real_lengths[part] = Tally.of(lengths.token_counts(getattr(real, part)))
    if xs is not None and xr is not None and len(xr) >= 2:
        from sklearn.decomposition import PCA

        rng = np.random.default_rng(0)
        a = xs[rng.choice(len(xs), min(1000, len(xs)), replace=False)]
        b = xr[rng.choice(len(xr), min(1000, len(xr)), replace=False)]
        pca = PCA(n_components=2, random_state=0).fit(np.vstack([a, b]))
        arrays.map["reference"] = (pca.transform(a), pca.transform(b))


def _benchmark_checks(opts: Options) -> list[tuple[TextSet, Any]]:
    """Each benchmark file, read whole, with its n-gram check, which sees every accepted row as it is read."""
    from distill.report.contamination import NgramCheck

    out = []
    for path in opts.benchmarks:
        bench = load_set(path)
        out.append((bench, NgramCheck(bench.instructions, [Path(path).name] * len(bench))))
    return out


def _contamination(checks: list[tuple[TextSet, Any]], syn: TextSet, cache: Any,
                   xs: np.ndarray | None) -> list[dict[str, Any]]:
    from distill.report.contamination import embedding_neighbours

    out = []
    for bench, check in checks:
        where = check.where
        entry: dict[str, Any] = {"name": where[0] if where else bench.name, "questions": len(bench),
                                 "ngram": check.result()}
        if cache is not None and xs is not None:
            near = embedding_neighbours(xs, cache.embed(bench.instructions), syn.instructions, bench.instructions,
                                        where)
            for pair in near["pairs"]:  # a position in the sample -> the record's position in data.jsonl
                pair["index"] = syn.index[pair["index"]]
            entry["embedding"] = near
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
    traces = report.get("traces")
    if traces and traces["thinking_tokens"].get("count"):
        h["median_thinking_tokens"] = traces["thinking_tokens"]["median"]
    h["verdict"] = report["verdict"]["status"]
    return h


def write(run_dir: Path, opts: Options, reuse: bool = False) -> dict[str, Any]:
    """Build and write the report; with `reuse`, a report already in the folder that was built from the same
    data files, manifest figures and options (its fingerprint) is returned as it is and nothing is written."""
    from distill.report.fingerprint import current, fingerprint
    from distill.report.html import render

    digest = fingerprint(run_dir, opts)
    if reuse and (existing := current(run_dir, digest)) is not None:
        return existing
    report, arrays = build(run_dir, opts)
    report["fingerprint"] = digest
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
