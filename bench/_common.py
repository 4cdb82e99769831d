"""Shared bench helpers: start the fake teacher on its own core, run distill's engine in-process, time it."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_teacher import FakeTeacher  # noqa: E402


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


@contextmanager
def fake_teacher(**cfg: Any) -> Iterator[FakeTeacher]:
    server = FakeTeacher(**cfg)
    with server:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(server.port and server.proc.pid, {1})  # type: ignore[union-attr]
        yield server


def write_inputs(folder: Path, n: int, tag: str = "") -> Path:
    path = folder / "in.jsonl"
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"instruction": f"Bench task {tag}{i}: reply briefly"}) + "\n")
    return path


def run_engine(url: str, inp: Path, out: Path, concurrency: int, **teacher: Any) -> dict[str, Any]:
    """One `distill run` of the respond recipe, in this process; returns the manifest."""
    from distill.config import RunConfig
    from distill.run.runner import execute

    cfg = RunConfig.model_validate({
        "recipe": "respond", "name": "bench",
        "teacher": {"provider": "openai", "model": "bench", "base_url": url, "max_concurrency": concurrency,
                    "max_retries": 8, **teacher},
        "generation": {"max_tokens": 16}, "input": {"path": str(inp)}, "out": str(out)})
    return execute(cfg, progress=False).manifest


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="distill-bench-"))


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
