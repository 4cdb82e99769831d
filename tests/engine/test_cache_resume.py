"""The call cache: a finished run is free to re-run, one edited row costs one call, failed calls are retried
by the next run, and a process killed with SIGKILL mid-run resumes without repeating received answers."""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from helpers import ROOT, distill, read_jsonl, recipe_yaml, write_instructions


@pytest.mark.slow
def test_rerun_makes_no_calls_and_one_edit_makes_one(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 40)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    assert distill("run", str(cfg)).returncode == 0
    first = (out / "data.jsonl").read_bytes()
    assert teacher_server.stats()["requests"] == 40

    res = distill("run", str(cfg))
    assert res.returncode == 0 and "0 new, 40 cached" in res.stdout
    assert teacher_server.stats()["requests"] == 40
    assert (out / "data.jsonl").read_bytes() == first

    lines = inp.read_text().splitlines()
    lines[17] = json.dumps({"instruction": "An edited task"})
    inp.write_text("\n".join(lines) + "\n")
    res = distill("run", str(cfg))
    assert res.returncode == 0 and "1 new, 39 cached" in res.stdout
    assert teacher_server.stats()["requests"] == 41


@pytest.mark.slow
def test_a_changed_option_rebuilds_the_records_from_cached_answers(tmp_path, teacher_server):
    """A finished run's records are replayed only under the same configuration: with a stricter filter the
    re-run rejects what it accepted before, still without a single new call."""
    inp = write_instructions(tmp_path / "in.jsonl", 12)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    assert distill("run", str(cfg)).returncode == 0
    assert len(read_jsonl(out / "data.jsonl")) == 12
    strict = recipe_yaml(tmp_path / "strict.yaml", teacher_server.url, inp, out, options="{min_words: 1000}")
    res = distill("run", str(strict))
    assert res.returncode == 1, res.stderr  # nothing accepted: said, exit 1
    assert "0 accepted, 12 rejected, 0 failed" in res.stdout and "0 new, 12 cached" in res.stdout
    assert {r["reason"] for r in read_jsonl(out / "rejected.jsonl")} == {"too_short"}
    assert teacher_server.stats()["requests"] == 12
    res = distill("run", str(cfg))  # and back: the first configuration's records, from the answers again
    assert "12 accepted, 0 rejected, 0 failed" in res.stdout and "0 new, 12 cached" in res.stdout


@pytest.mark.slow
def test_exhausted_retries_are_recorded_and_retried_by_the_next_run(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 10)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="max_retries: 1")
    teacher_server.configure(fail=1.0)  # every call answers 500
    res = distill("run", str(cfg))
    assert res.returncode == 1 and "every item failed" in res.stderr, res.stderr  # nothing made: not a success
    assert "0 accepted, 0 rejected, 10 failed" in res.stdout
    failed = read_jsonl(out / "failed.jsonl")
    assert len(failed) == 10 and "HTTP 500" in failed[0]["error"] and failed[0]["attempts"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["teacher"]["retries"] == 10
    assert manifest["usage"]["teacher"]["retry_reasons"] == {"http_500": 10}

    teacher_server.configure(fail=0.0)
    res = distill("run", str(cfg))
    assert "10 accepted, 0 rejected, 0 failed" in res.stdout
    assert teacher_server.stats()["requests"] == 10  # only the failed ones, once each


def _received_hashes(cache_path) -> set[str]:
    """The request hashes (from the fake server's answer text) of every answer committed to the cache."""
    if not cache_path.exists():
        return set()
    db = sqlite3.connect(str(cache_path))
    try:  # a kill between the file's creation and its schema leaves no table: nothing was received yet
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'answers'").fetchone() is None:
            return set()
        rows = db.execute("SELECT value FROM answers").fetchall()
    finally:
        db.close()
    return {m.group(1) for (blob,) in rows for m in [re.search(r"Answer (\w+)-0", blob.decode())] if m}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_dataset(tmp_path, teacher_server):
    n, concurrency = 400, 16
    inp = write_instructions(tmp_path / "in.jsonl", n)
    teacher_server.configure(latency=0.1, jitter=0.1)
    ref_out = tmp_path / "reference"
    ref_cfg = recipe_yaml(tmp_path / "ref.yaml", teacher_server.url, inp, ref_out,
                          teacher_extra=f"max_concurrency: {concurrency}")
    assert distill("run", str(ref_cfg)).returncode == 0
    reference = sorted((ref_out / "data.jsonl").read_bytes().splitlines())
    assert len(reference) == n

    teacher_server.configure(latency=0.1, jitter=0.1)
    out = tmp_path / "killed"
    cfg = recipe_yaml(tmp_path / "k.yaml", teacher_server.url, inp, out,
                      teacher_extra=f"max_concurrency: {concurrency}")
    rng = random.Random(7)
    cmd = [sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"]
    kills = 0
    for _ in range(10):
        received = _received_hashes(out / "cache.sqlite")
        already_logged = len(teacher_server.log())
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.5, 1.5))  # start-up takes ~0.4 s; an uninterrupted run ~4 s
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        asked_again = set(teacher_server.log()[already_logged:]) & received
        assert not asked_again, f"{len(asked_again)} answers already received were requested again"
    assert kills >= 5
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert sorted((out / "data.jsonl").read_bytes().splitlines()) == reference
    log = teacher_server.log()
    repeats = len(log) - len(set(log))
    assert repeats <= kills * concurrency  # only calls in flight at a kill can be repeated
