"""What the request-pin tests share: a `distill run` under tests/key_recorder.py, and the digest of what it sent."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def recorded_run(cfg: Path, log: Path) -> subprocess.CompletedProcess[str]:
    """`distill run CFG` with every call's cache-key material written to `log` (one sha256 per distinct call)."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / "key_recorder.py"), "run", str(cfg),
                           "--no-progress"], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "DISTILL_KEY_LOG": str(log)})


def digest(keys: str, bodies: list[dict[str, Any]]) -> str:
    sent = sorted(json.dumps(b, ensure_ascii=False) for b in bodies)  # arrival order varies; key order must not
    return hashlib.sha256((keys + "\n".join(sent)).encode()).hexdigest()
