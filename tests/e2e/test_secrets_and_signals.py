"""Secrets never leave the environment; Ctrl+C stops quickly, keeps what was paid for and says how to resume."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from helpers import ROOT, as_foreground, distill, read_jsonl, recipe_yaml, write_instructions

KEY = "sk-distill-test-0123456789abcdefSECRET"


def _everything_written(folder):
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_api_key_appears_in_no_file_log_or_message(tmp_path, teacher_server):
    teacher_server.configure(api_key=KEY, fail=0.2)
    inp = write_instructions(tmp_path / "in.jsonl", 30)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="api_key_env: MY_TEACHER_KEY")
    res = distill("run", str(cfg), "--no-progress", env={"MY_TEACHER_KEY": KEY})
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(out / "data.jsonl")) == 30  # the key did reach the server
    blob = _everything_written(out)
    assert b"MY_TEACHER_KEY" in blob  # the variable's name is recorded, so the run can be reproduced
    assert KEY.encode() not in blob and KEY not in res.stdout + res.stderr

    res = distill("run", str(cfg), "--no-progress", "--out", str(tmp_path / "run2"),
                  env={"MY_TEACHER_KEY": KEY + "-wrong"})
    assert res.returncode == 1 and "401" in res.stderr
    assert KEY not in res.stdout + res.stderr


def test_ctrl_c_stops_fast_keeps_answers_and_prints_how_to_resume(tmp_path, teacher_server):
    """The first run has at least ~37 s of work left when Ctrl+C comes (980 calls, 8 at a time, 0.3 s each: the
    latency is a floor a busy machine only raises), so stopping within 25 s — generous for a loaded machine, where
    stopping took up to 10.5 s — can only mean it stopped instead of finishing; the server then answered a small
    part of the work."""
    total, concurrency = 1000, 8
    teacher_server.configure(latency=0.3)
    inp = write_instructions(tmp_path / "in.jsonl", total)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out,
                      teacher_extra=f"max_concurrency: {concurrency}")
    proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_foreground)
    while (answered_at_signal := teacher_server.stats()["answered"]) < 20:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - sent < 25  # the rest of the run needs >= 37 s even on an idle machine
    assert proc.returncode == 130
    assert "Resume with the same command" in err and "Traceback" not in err
    assert not (out / "data.jsonl").exists()  # no final file from an unfinished run
    assert teacher_server.stats()["answered"] < total // 2  # it stopped; it did not work on to the end

    teacher_server.configure(latency=0.0)  # the resume at full speed (the counters start again from 0)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0
    assert len(read_jsonl(out / "data.jsonl")) == total
    new_calls = teacher_server.stats()["answered"]
    assert new_calls <= total - answered_at_signal + concurrency  # answers received before Ctrl+C were kept
