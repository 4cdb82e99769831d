"""A provider whose batch queue is full: OpenAI refuses a batch that would take the organisation past its
enqueued-token limit (`token_limit_exceeded`). Such a batch waits for room — until one of the run's own batches
ends, or for a growing wait — instead of being created again at once; `distill status` says it is waiting; a
batch larger than the whole queue is cut to fit."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, distill, read_jsonl, write
from openai_batch_server import OpenAIBatchServer

FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2, price_factor: 0.5"
TOKENS = 6  # what one prompt below counts for at the scripted server: 23 characters // 4 + 1


def config(tmp_path: Path, url: str, n: int, batch: str, pad: int = 0) -> Path:
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i:03d}: say something" + "."
                                                           * pad}) + "\n" for i in range(n)))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, batch: {batch}}}
generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")


@pytest.mark.slow
def test_batches_past_the_enqueued_token_limit_wait_for_room_and_every_answer_comes(tmp_path):
    limit = 2 * 15 * TOKENS + 10  # two batches of 15 fit in the queue, a third does not
    with OpenAIBatchServer(batch={"polls": 16, "token_limit": limit}) as server:
        cfg = config(tmp_path, server.url, 60, FAST + ", max_requests: 15}")
        proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = ""
        while proc.poll() is None and "2 waiting" not in seen:
            if (tmp_path / "run" / "cache.sqlite").exists():
                seen = distill("status", str(tmp_path / "run")).stdout
            time.sleep(0.1)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        stats = server.batch_stats()
    assert "waiting for room in the provider's queue" in seen and "2 waiting" in seen, seen
    assert "Enqueued token limit reached" in seen
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert sorted(r["meta"]["index"] for r in data) == list(range(60))
    assert stats["enqueued_max"] <= limit
    # four batches, two refused once each and made again as room came (a race at the start may add a refusal
    # or two); sent again at once, they would be refused over and over
    assert 2 <= stats["refused"] <= 4 and stats["creates"] == 4 + stats["refused"], stats
    assert stats["files"] == 4 and set(stats["uploads"].values()) == {1}  # made again from the same file
    assert "the provider's queue is full" in err and "until one of this run's" in err
    status = distill("status", str(tmp_path / "run")).stdout
    assert "0 pending, 4 collected" in status and f"{stats['refused']} refused" in status, status
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]["teacher"]["requests"] == 60


def test_a_batch_larger_than_the_whole_queue_is_cut_to_fit(tmp_path):
    # 12 prompts of 101 tokens in one batch, where the queue holds 500: sent again in batches estimated (3 bytes
    # of text a token, erring high) to fit — 3 requests each, one batch in the queue at a time
    limit, tokens = 500, (23 + 378) // 4 + 1
    with OpenAIBatchServer(batch={"polls": 2, "token_limit": limit}) as server:
        res = distill("run", str(config(tmp_path, server.url, 12, FAST + "}", pad=378)), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
    assert "cut to fit a queue of 500 tokens" in res.stderr
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 12
    assert stats["sizes"][0] == 12 and max(stats["sizes"][1:]) * tokens <= limit
    assert stats["enqueued_max"] <= limit and stats["refused"] <= 8, stats


def test_a_server_that_refuses_at_creation_is_waited_on_too(tmp_path):
    limit = 15 * TOKENS + 10  # one batch at a time
    with OpenAIBatchServer(batch={"polls": 4, "token_limit": limit, "token_limit_status": 429}) as server:
        res = distill("run", str(config(tmp_path, server.url, 45, FAST + ", max_requests: 15}")), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 45
    # (the queue's size, once known, cuts the batches smaller: the estimate errs high)
    assert stats["enqueued_max"] <= limit and stats["creates"] == stats["batches"] + stats["refused"]
    assert stats["refused"] <= 2 * stats["batches"], stats  # tried again as batches end, not at once
