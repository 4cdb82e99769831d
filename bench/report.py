"""`distill report` on a large run, through the real command (a subprocess, imports included).

Data: real English sentences (bench/novelty.py's corpus: docstrings of Python's standard library, sympy and numpy,
~56k sentences on this machine) as instructions, each with one of two imperative prefixes, so 100,000 distinct
instructions; responses are 3-8 corpus sentences; 10% of records also sit in rejected.jsonl with judge scores.
The reference is 20,000 other corpus instructions.

1. The report without embeddings on N records (target: <= 60 s for 100,000), then with --reference as well.
2. Embeddings on CPU: a run of E records (default 5,000) reported with the default model (all-MiniLM-L6-v2),
   the rate stated excluding the model's load; then the same command again, every vector read from the cache.

    python bench/report.py --records 100000 --embed-records 5000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

PREFIXES = ["Explain this statement: ", "Rewrite in plain words: ", "Give an example of: "]


def make_run(folder: Path, sentences: list[str], n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    kept = rejected = 0
    with open(folder / "data.jsonl", "w") as data, open(folder / "rejected.jsonl", "w") as rej:
        for i in range(n):
            instruction = PREFIXES[(i // len(sentences)) % 2] + sentences[i % len(sentences)]
            response = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 8)))
            score = rng.randint(1, 10)
            row = {"messages": [{"role": "user", "content": instruction}, {"role": "assistant", "content": response}],
                   "instruction": instruction, "input": "", "output": response,
                   "meta": {"recipe": "respond", "index": i, "scores": {"judge.overall": score}}}
            if i % 10 == 9:
                rej.write(json.dumps({"stage": "select", "reason": "select: judge.overall min 5", "item": row}) + "\n")
                rejected += 1
            else:
                data.write(json.dumps(row) + "\n")
                kept += 1
    manifest = {"name": folder.name, "recipe": "respond", "teacher": {"kind": "bench"}, "config": {"options": {}},
                "stages": {"quality": {"accepted": n, "rejected": {}, "failed": 0},
                           "select": {"accepted": kept, "rejected": {"select: judge.overall min 5": rejected},
                                      "failed": 0}},
                "counts": {"accepted": kept, "rejected": rejected, "failed": 0}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def report(run: Path, *args: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "distill.cli.main", "report", str(run), *args],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(res.stderr)
    return wall, json.loads((run / "report.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--embed-records", type=int, default=5_000)
    ap.add_argument("--reference-records", type=int, default=20_000)
    args = ap.parse_args()
    from novelty import corpus

    sentences = corpus(56_000)
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        big = make_run(tmp / "big", sentences, args.records)
        ref = tmp / "real.jsonl"
        rng = random.Random(1)
        ref.write_text("".join(json.dumps({"instruction": PREFIXES[2] + rng.choice(sentences)}) + "\n"
                               for _ in range(args.reference_records)))
        wall, r = report(big, "--embeddings", "none")
        print(f"{args.records:,} records, no embeddings: {wall:.1f} s wall; sections: {r['timings']}")
        wall, r = report(big, "--embeddings", "none", "--reference", str(ref))
        print(f"{args.records:,} records + {args.reference_records:,}-text reference, no embeddings: {wall:.1f} s "
              f"wall; sections: {r['timings']}")
        small = make_run(tmp / "small", sentences, args.embed_records, seed=2)
        wall, r = report(small)
        e = r["embeddings"]
        print(f"{r['records']:,} records with embeddings: "
              f"{wall:.1f} s wall; {e['new']:,} texts embedded in {e['seconds']:.1f} s = {e['rate_per_second']} "
              f"texts/s on CPU (model load {e['load_seconds']:.1f} s); sections: {r['timings']}")
        wall, r = report(small)
        e = r["embeddings"]
        print(f"cached re-run: {wall:.1f} s wall; {e['new']} embedded, {e['cached']:,} from the cache; "
              f"embeddings section {r['timings']['embeddings']:.2f} s; sections: {r['timings']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
