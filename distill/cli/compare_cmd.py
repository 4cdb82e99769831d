"""`distill compare RUN_A RUN_B [...]`: runs side by side in one page (compare.html, compare.json)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compare", help="put runs side by side (two teachers, two temperatures, before and after a filter)",
        description="Build each run's report figures and write OUT/compare.html (a table of every run's "
                    "figures and overlaid distributions) and OUT/compare.json.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  distill compare outputs/t07 outputs/t10 --reference real.jsonl --out compare-temps")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="finished run folders (two or more)")
    p.add_argument("--out", type=Path, default=Path("compare"), help="output folder (default ./compare)")
    p.add_argument("--reference", help="real data for every run: a JSONL file, a run folder or a dataset")
    p.add_argument("--embeddings", default="default", metavar="MODEL",
                   help="default | a sentence-transformers folder | openai:MODEL@BASE_URL | none")
    p.add_argument("--sample", type=int, default=20_000,
                   help="records sampled per run for the per-text figures (default 20000)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError
    from distill.report.build import Options
    from distill.report.compare import write

    if len(args.runs) < 2:
        raise InputError("compare: give at least two run folders")
    opts = Options(reference=args.reference, embeddings=args.embeddings != "none", embedding_model=args.embeddings,
                   sample=max(10, args.sample))
    data = write(args.runs, args.out, opts)
    print(f"wrote {args.out / 'compare.html'} and compare.json ({len(data['runs'])} runs)")
    for row in data["table"]:
        print(f"  {row['figure']:<32}" + "".join(f"{row[r['name']]!s:>18}" for r in data["runs"]))
    return 0
