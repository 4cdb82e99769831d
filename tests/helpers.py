"""Shared test helpers: writing recipe files and running the real `distill` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_instructions(path: Path, n: int, prefix: str = "Task number") -> Path:
    return write(path, "".join(json.dumps({"instruction": f"{prefix} {i}: say something"}) + "\n"
                               for i in range(n)))


def recipe_yaml(path: Path, url: str, inp: Path, out: Path, *, teacher_extra: str = "", **top: Any) -> Path:
    lines = ["recipe: respond", "name: t", "teacher:", "  provider: openai", "  model: fake-model",
             f"  base_url: {url}", "  max_retries: 8", "  timeout: 5"]
    lines += [f"  {line}" for line in teacher_extra.splitlines() if line.strip()]
    lines += ["generation: {max_tokens: 32, temperature: 0.7}", f"input: {{path: {inp}}}", f"out: {out}"]
    lines += [f"{k}: {v}" for k, v in top.items()]
    return write(path, "\n".join(lines) + "\n")


def distill(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "distill.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def as_foreground() -> None:
    """`preexec_fn` for a `distill run` a test will Ctrl+C: SIGINT back to its default, as in a terminal's
    foreground job. A test runner started in the background (`cmd &` in a script) ignores SIGINT, and a child
    inherits that, so the test's SIGINT would never arrive."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def expected_exit(run: Path) -> int:
    """What `distill run` exits with for a finished run folder: 0 when it accepted a record, 1 (having said why,
    run/shortfall.py) when it accepted none — for runs on a real model, whose outcome the test cannot choose."""
    return 0 if read_jsonl(run / "data.jsonl") else 1
