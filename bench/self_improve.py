"""Self-improvement bench (run by hand, not a test): recipes/self_improve.yaml end to end — SmolLM2-135M through
transformers on CPU, two iterations of verified sampling + SFT — timed, with the held-out pass rate of every
iteration and its Wilson 95% interval, and the load average before and after (other work slows it).

    python bench/self_improve.py                     # a fresh run folder under /tmp
    python bench/self_improve.py --out DIR --set options.samples=8 --num 32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--set", action="append", default=[], help="passed on to distill run --set")
    ap.add_argument("--num", type=int, default=None, help="train prompts used (default: the recipe's, all 64)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-self-improve-")) / "run"
    cmd = [sys.executable, "-m", "distill.cli.main", "run", str(ROOT / "recipes/self_improve.yaml"), "--out", str(out),
           "--no-progress", *[a for s in args.set for a in ("--set", s)]]
    cmd += ["--num", str(args.num)] if args.num else []
    load0 = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, text=True, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    load1 = os.getloadavg()
    for line in proc.stderr.splitlines():
        if line.startswith(("self_improve:", "wrote", "error")):
            print(line)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"\nwall {wall / 60:.1f} min; load average before {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, "
          f"after {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} on {os.cpu_count()} cores; run folder {out}")
    print("| iteration | SFT examples | training | held-out pass rate | 95% CI |")
    print("|---|---|---|---|---|")
    for e in manifest["self_improve"]["iterations"]:
        ev, tr = e.get("eval") or {}, e.get("train") or {}
        trained = f"{tr['steps']} steps, {tr['seconds']} s, loss {tr['first_loss']} -> {tr['last_loss']}" \
            if "steps" in tr else (tr.get("skipped") or "-")
        print(f"| {e['iteration']} | {e.get('sft_examples', '-')} | {trained} | {ev.get('passed')}/{ev.get('total')}"
              f" = {ev.get('pass_rate')} | {ev.get('ci95')} |")
    first, last = manifest["self_improve"]["iterations"][0]["eval"], manifest["self_improve"]["iterations"][-1]["eval"]
    rose = last["pass_rate"] > first["ci95"][1]
    print(f"\nlast iteration's pass rate {'is above' if rose else 'is NOT above'} iteration 0's 95% interval "
          f"({last['pass_rate']} vs {first['ci95']})")


if __name__ == "__main__":
    main()
