"""Start-up costs: `distill --help`, and the time from launching `distill run` to its first request on the wire.

    python bench/startup.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from _common import ROOT, cleanup, fake_teacher, tmpdir, write_inputs


def main() -> None:
    helps = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "distill.cli.main", "--help"], capture_output=True, cwd=ROOT, check=True)
        helps.append(time.perf_counter() - t0)
    print(f"distill --help: median {statistics.median(helps):.3f} s (target <= 0.5 s)")
    folder = tmpdir()
    firsts = []
    try:
        with fake_teacher(latency=0.0) as server:
            inp = write_inputs(folder, 50)
            cfg = folder / "r.yaml"
            for k in range(5):
                cfg.write_text(json.dumps({"recipe": "respond", "teacher": {"provider": "openai", "model": f"m{k}",
                                                                            "base_url": server.url},
                                           "input": {"path": str(inp)}, "out": str(folder / f"o{k}")}))
                server.configure(latency=0.0)
                t0 = time.time()
                proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"],
                                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while server.stats()["requests"] == 0:
                    time.sleep(0.002)
                firsts.append(time.time() - t0)
                proc.wait()
    finally:
        cleanup(folder)
    print(f"launch -> first request: median {statistics.median(firsts):.3f} s (target <= 1.5 s)")
    for module in ("datasets", "transformers"):  # what importing eagerly would cost before the first request
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=True)
        print(f"reference: `import {module}` alone takes {time.perf_counter() - t0:.2f} s "
              "(distill imports it only when a run needs it); curator's import 3.5-4 s, distilabel's 3.9-5.9 s")


if __name__ == "__main__":
    main()
