"""A disk that fills up during a run: the run stops with a message (exit 3) instead of a traceback, every answer
it received stays in the cache, no partial or temporary file is left, and after freeing space the same command
finishes the run without asking for any answer twice.

The realistic tests run on a small tmpfs (they need permission to mount one, which root in a container may lack;
then they are skipped and the in-process test below still checks the watcher)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import ROOT, distill, read_jsonl, recipe_yaml, write_instructions

ITEMS = 300


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=80m", "tmpfs", str(mnt)], check=False,
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _cached(out: Path) -> int:
    with sqlite3.connect(out / "cache.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])


def _fill(disk: Path, leave: int) -> Path:
    """Write a ballast file until only `leave` bytes are free (0: until the disk refuses a write)."""
    ballast = disk / "ballast"
    chunk = b"\0" * 2**20
    with open(ballast, "wb") as fh:
        try:
            while True:
                free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
                if free <= leave:
                    break
                fh.write(chunk[: max(4096, min(len(chunk), free - leave))])
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return ballast


def _stopped_by_a_full_disk(tmp_path, teacher_server, disk, leave):
    teacher_server.configure(latency=0.05)
    inp = write_instructions(tmp_path / "in.jsonl", ITEMS)
    out = disk / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="max_concurrency: 4")
    proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while teacher_server.stats()["answered"] < 20:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    ballast = _fill(disk, leave)
    _, err = proc.communicate(timeout=60)
    answered = teacher_server.stats()["answered"]
    assert proc.returncode == 3, err
    assert "Traceback" not in err and "disk holding" in err and "is full" in err
    assert "again to resume" in err
    assert answered < ITEMS  # it stopped part-way
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.endswith((".partial", ".tmp"))], left
    assert "data.jsonl" not in left and "manifest.json" not in left
    ballast.unlink()
    cached = _cached(out)
    assert cached >= answered - 4  # every answer received was committed (at most the 4 in flight were unread)

    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(out / "data.jsonl")) == ITEMS
    assert teacher_server.stats()["answered"] - answered == ITEMS - cached  # nothing received was asked again


@pytest.mark.slow
def test_low_space_stops_the_run_cleanly_and_it_resumes(tmp_path, teacher_server, small_disk):
    _stopped_by_a_full_disk(tmp_path, teacher_server, small_disk, leave=3 * 2**20)


@pytest.mark.slow
def test_a_write_that_fails_on_a_full_disk_is_a_message_not_a_traceback(tmp_path, teacher_server, small_disk):
    _stopped_by_a_full_disk(tmp_path, teacher_server, small_disk, leave=0)


def test_the_watcher_stops_a_run_when_free_space_runs_short(tmp_path, teacher_server, monkeypatch, capsys):
    """In-process, with the free-space reading replaced: runs wherever a tmpfs cannot be mounted."""
    from distill.cli.main import main
    from distill.run import space

    teacher_server.configure(latency=0.05)
    inp = write_instructions(tmp_path / "in.jsonl", ITEMS)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="max_concurrency: 4")
    readings = iter([10 * 2**30] * 2)
    monkeypatch.setattr(space, "free_bytes", lambda path: next(readings, 2**20))
    assert main(["run", str(cfg), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "1.0 MB free" in err and "Every answer received so far is kept" in err and "again to resume" in err
    answered = teacher_server.stats()["answered"]
    assert 0 < answered < ITEMS and _cached(out) >= answered - 4
    assert not [p.name for p in out.iterdir() if p.name.endswith((".partial", ".tmp"))]


def test_export_onto_a_full_disk_is_a_message(tmp_path, teacher_server, small_disk):
    inp = write_instructions(tmp_path / "in.jsonl", 5)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    _fill(small_disk, 0)
    for args in (["--to", str(small_disk / "data.parquet")],
                 ["--format", "alpaca", "--to", str(small_disk / "alpaca.jsonl")]):
        res = distill("export", str(out), *args)
        assert res.returncode == 3, res.stderr
        assert "disk is full" in res.stderr and "Traceback" not in res.stderr
        assert sorted(os.listdir(small_disk)) == ["ballast"]  # no half-written export, no temporary file



@pytest.mark.slow
def test_a_report_written_onto_a_full_disk_leaves_no_half_page(tmp_path, teacher_server, small_disk):
    """`distill report RUN` on a disk with room for part of the page: a message (exit 3), and no report file cut
    off mid-way that a browser or the dataset card would show as if whole, and no temporary file."""
    inp = write_instructions(tmp_path / "in.jsonl", 30)
    out = small_disk / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, report="false")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert not (out / "report.html").exists()
    probe = tmp_path / "probe"
    assert distill("run", str(cfg), "--no-progress", "--out", str(probe)).returncode == 0
    assert distill("report", str(probe), "--embeddings", "none").returncode == 0
    sizes = {p.name: p.stat().st_size for p in probe.iterdir() if p.name.startswith("report.")}
    _fill(small_disk, sizes["report.png"] + sizes["report.json"] + sizes["report.html"] // 2)  # half a page
    res = distill("report", str(out), "--embeddings", "none")
    assert res.returncode == 3, (res.stdout, res.stderr)
    assert "disk is full" in res.stderr and "Traceback" not in res.stderr
    left = sorted(p.name for p in out.iterdir() if p.name.startswith("report") or p.name.endswith(".tmp"))
    assert all((out / name).stat().st_size > 0 and name != "report.html" for name in left), left
    assert not [name for name in left if name.endswith(".tmp")], left
