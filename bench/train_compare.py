"""Does the data help? (run by hand, not a test): two runs made from the same arithmetic word problems
(recipes/data/arithmetic_train.jsonl) by the embedded SmolLM2-135M teacher — `respond` with every answer kept
(ungated), and the same run with the quality gate on (the teacher judges each answer against the reference
answer, `quality: {rubric: overall, reference_field: answer}`, and keeps scores of at least --min-score) — then
`distill compare --train`: SmolLM2-135M (the embedded GGUF, dequantized, through transformers on CPU) is
fine-tuned on each run with the same number of examples, and the base student and both checkpoints answer the
held-out problems (recipes/data/arithmetic_heldout.jsonl), graded by the math verifier. Prints the table with
95% intervals, the paired McNemar test, and the wall time of each step. The gated run starts from the ungated
run's cache (its answers are the same calls), so only the judge is asked.

    python bench/train_compare.py                       # a fresh folder under /tmp
    python bench/train_compare.py --out DIR --num 64 --limit 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "recipes" / "data"


def recipe(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nteacher: local\nseed: 7\n"
                    f"input: {{path: {DATA / 'arithmetic_train.jsonl'}, field: question, input_field: null}}\n"
                    + body)
    return path


def step(label: str, cmd: list[str]) -> float:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    took = time.monotonic() - t0
    print(f"[{label}: {took / 60:.1f} min]", flush=True)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--num", type=int, default=32, help="training problems (default 32 of 64)")
    ap.add_argument("--limit", type=int, default=50, help="held-out problems (default 50 of 100)")
    ap.add_argument("--min-score", type=int, default=6, help="the gate's least judge score out of 10 (default 6)")
    ap.add_argument("--max-tokens", type=int, default=160, help="tokens per held-out answer (default 160)")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench-train-compare-"))
    folder.mkdir(parents=True, exist_ok=True)
    distill = [sys.executable, "-m", "distill.cli.main"]
    respond = "recipe: respond\ngeneration: {temperature: 0.7, top_p: 0.95, max_tokens: 160}\noptions: {min_words: 3}\n"
    ungated = recipe(folder, "ungated", respond)
    gated = recipe(folder, "gated", respond + "quality: {rubric: overall, reference_field: answer}\n"
                                    f"select: {{rules: [{{score: judge.overall, min: {args.min_score}}}]}}\n")
    load0 = os.getloadavg()
    times = {}
    times["ungated"] = step("run ungated", [*distill, "run", str(ungated), "--out", str(folder / "ungated"),
                                            "--num", str(args.num), "--no-progress"])
    (folder / "gated").mkdir(exist_ok=True)
    for name in (".distill-run", "cache.sqlite"):  # the same answers: only the judge is asked
        if not (folder / "gated" / name).exists():
            shutil.copy2(folder / "ungated" / name, folder / "gated" / name)
    times["gated"] = step("run gated", [*distill, "run", str(gated), "--out", str(folder / "gated"), "--num",
                                        str(args.num), "--no-progress"])
    compare = [*distill, "compare", str(folder / "gated"), str(folder / "ungated"), "--train",
               "--on", str(DATA / "arithmetic_heldout.jsonl"), "--field", "question", "--answer-field", "answer",
               "--verifier", "math", "--limit", str(args.limit), "--max-tokens", str(args.max_tokens), "--epochs",
               str(args.epochs), "--lr", str(args.lr), "--batch-size", "8", "--embeddings", "none",
               "--out", str(folder / "compare")]
    compare += ["--threads", str(args.threads)] if args.threads else []
    times["compare --train"] = step("compare --train", compare)
    load1 = os.getloadavg()
    summary = json.loads((folder / "compare" / "train_compare.json").read_text())
    print(f"\nfolder {folder}; load average before {load0[0]:.2f}, after {load1[0]:.2f} on {os.cpu_count()} cores")
    for name in ("ungated", "gated"):
        m = json.loads((folder / name / "manifest.json").read_text())
        print(f"run {name}: {m['counts']['accepted']} records accepted, {m['counts']['rejected']} rejected")
    print(f"budget: {summary['budget']['examples']} examples each\n")
    print("| student | training | held-out pass rate | 95% CI |")
    print("|---|---|---|---|")
    for m in summary["evaluation"]["models"]:
        t = summary["train"].get(m["model"])
        trained = f"{t['examples']} examples, {t['steps']} steps, {t['seconds']} s" if t else "-"
        ev = m["pass_rate"]
        print(f"| {m['label']} | {trained} | {ev['passed']}/{ev['total']} = {ev['pass_rate']} | {ev['ci95']} |")
    p = summary["paired"]
    print(f"\npaired ({p['measure']}): {p['a']} - {p['b']} = {p['difference']:+.3f}, 95% CI {p['ci95']}, "
          f"exact McNemar p = {p['p_value']} ({p['only_a']} vs {p['only_b']} questions passed by one alone)")
    for v in summary["vs_base"]:
        print(f"vs base: {v['a']} - base = {v['difference']:+.3f}, 95% CI {v['ci95']}, p = {v['p_value']}")
    print(f"verdict: {summary['verdict']}")
    total = sum(times.values())
    print("wall: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in times.items()) + f"; total {total / 60:.1f} min")


if __name__ == "__main__":
    main()
