"""distill's exact ROUGE-L novelty filter against the rouge_score reference, on real instruction-like text.

Corpus: the 175 self-instruct seeds and 252 user-oriented instructions from ../shared/data, then sentences from
the docstrings of Python's standard library, then of sympy and numpy (real English prose, read from this machine,
nothing downloaded; it changes only with the Python, sympy or numpy version, not with other installed packages).
For each K: time of our filter, time of the reference (rouge_score's RougeScorer, self-instruct's greedy
sequential rule, both cores), and whether the kept sets are identical.

    python bench/novelty.py --k 1000 --k 10000 --k 50000 --reference-max 2000
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import multiprocessing as mp
import re
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def corpus(k: int) -> list[str]:
    texts: list[str] = []
    for name in ("self_instruct_seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        path = SHARED / name
        if path.exists():
            texts += [json.loads(line)["instruction"] for line in path.read_text().splitlines() if line.strip()]
    seen = set(texts)
    # the standard library, then sympy and numpy (core dependencies): the same sentences whatever else is installed
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    import numpy
    import sympy

    files = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    for package in (sympy, numpy):
        files += sorted(Path(package.__file__).parent.rglob("*.py"))
    for py in files:
        if len(texts) >= k:
            break
        if "test" in py.parts or "tests" in py.parts:
            continue
        try:
            tree = ast.parse(py.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                for sent in re.split(r"(?<=[.!?])\s+", " ".join((doc or "").split())):
                    if 4 <= len(sent.split()) <= 40 and sent not in seen:
                        seen.add(sent)
                        texts.append(sent)
    if len(texts) < k:
        sys.exit(f"corpus has only {len(texts)} texts, fewer than K={k}")
    return texts[:k]


def _ref_scores(args: tuple[str, list[str]]) -> bool:
    from rouge_score import rouge_scorer

    cand, pool = args
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return all(scorer.score(p, cand)["rougeL"].fmeasure <= 0.7 for p in pool)


def reference(texts: list[str]) -> list[int]:
    """self-instruct's rule with rouge_score, the pool scan split over both cores."""
    kept, pool = [], []
    with mp.Pool(2) as workers:
        for i, t in enumerate(texts):
            half = len(pool) // 2
            if all(workers.map(_ref_scores, [(t, pool[:half]), (t, pool[half:])])):
                kept.append(i)
                pool.append(t)
    return kept


def digest(kept: list[int]) -> str:
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from distill.text.rouge_novelty import greedy_filter

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, action="append", help="corpus sizes (default 1000, 10000, 50000)")
    ap.add_argument("--reference-max", type=int, default=1000, help="run rouge_score only up to this K")
    args = ap.parse_args()
    for k in args.k or [1000, 10000, 50000]:
        texts = corpus(k)
        t0 = time.perf_counter()
        ours = greedy_filter(texts)
        ours_s = time.perf_counter() - t0
        line = f"K={k:6d}: distill {ours_s:7.2f} s, kept {len(ours)} (digest {digest(ours)})"
        if k <= args.reference_max:
            t0 = time.perf_counter()
            ref = reference(texts)
            ref_s = time.perf_counter() - t0
            line += (f" | rouge_score {ref_s:8.1f} s, kept {len(ref)} | identical: {ref == ours} | "
                     f"speed-up {ref_s / ours_s:.0f}x")
        print(line, flush=True)


if __name__ == "__main__":
    main()
