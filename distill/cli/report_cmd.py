"""`distill report RUN`: the data report of a finished run (report.html, report.json, report.png)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="measure and plot a run's data; compare it with a real reference set",
        description="Write RUN/report.html (one self-contained page, plots inline, opens offline), report.json "
                    "(every figure) and report.png (the overview the dataset card shows): the funnel, lengths, "
                    "lexical diversity, ROUGE-L self-similarity, verb-noun structure, embedding clusters and "
                    "near-duplicates, scores, and with --reference / --benchmark the comparison with real data "
                    "and contamination. Embeddings are cached in RUN/embeddings/.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  distill report outputs/respond-demo\n"
               "  distill report outputs/respond-demo --reference real.jsonl --benchmark gsm8k_test.jsonl\n"
               "  distill report outputs/respond-demo --embeddings openai:bge-m3@http://127.0.0.1:8000/v1")
    p.add_argument("run_dir", type=Path, help="a finished run folder")
    p.add_argument("--reference", help="real data: a JSONL file, a run folder or a `datasets` dataset")
    p.add_argument("--split", default="train", help="split of a `datasets` reference (default train)")
    p.add_argument("--benchmark", action="append", default=[], metavar="FILE",
                   help="a JSONL file of benchmark questions to check for contamination (repeatable)")
    p.add_argument("--embeddings", default="default", metavar="MODEL",
                   help="default (all-MiniLM-L6-v2, offline) | a sentence-transformers folder | "
                        "openai:MODEL@BASE_URL | none")
    p.add_argument("--seeds", help="seed instructions (JSONL) for the ROUGE-L-to-seeds figure "
                                   "(default: the recipe's seeds when they can be found)")
    p.add_argument("--sample", type=int, default=20_000,
                   help="records the per-text figures (lexical, self-similarity, verbs, embeddings) are computed "
                        "on: a seeded uniform sample beyond this; counts and lengths cover every record "
                        "(default 20000)")
    p.set_defaults(handler=handle)


def print_summary(run_dir: Path, report: dict[str, Any]) -> None:
    v = report["verdict"]
    print(f"wrote {run_dir / 'report.html'} and report.json: {v['headline']}")
    for line in v["findings"]:
        print(f"  - {line}")
    skipped = (report.get("embeddings") or {}).get("skipped")
    if skipped:
        print(f"  (embedding sections skipped: {skipped})")


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError
    from distill.report.build import Options, write

    if args.sample < 10:
        raise InputError("--sample: at least 10")
    model = args.embeddings
    opts = Options(reference=args.reference, benchmarks=args.benchmark, embeddings=model != "none",
                   embedding_model=model, sample=args.sample, seeds=args.seeds, split=args.split)
    print_summary(args.run_dir, write(args.run_dir, opts))
    return 0
