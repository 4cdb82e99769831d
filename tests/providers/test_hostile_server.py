"""Every HTTP client (own HTTP/1.1, aiohttp, Anthropic, both batch APIs) against a server that attacks the client
(tests/hostile_server.py): each call runs in a process whose address space is limited to 1 GiB, and ends with a
message — an oversized reply rejects its item keeping only a prefix, a broken one is retried, a redirect is not
followed — in bounded memory, never a traceback. Then whole runs against it end the same way and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, read_jsonl, write
from hostile_server import HostileServer

LIMIT = 1 << 30
CLIENTS = ["http", "aiohttp", "anthropic", "batch-openai", "batch-anthropic"]
TOO_LARGE = ("gzip-bomb", "huge-length", "big-json", "endless-chunked")
BROKEN = ("endless-head", "bad-length", "continue-flood")
ENV = {"OPENAI_API_KEY": "sk-hostile-test", "ANTHROPIC_API_KEY": "ak-hostile-test", "NO_PROXY": "*"}


@pytest.fixture(scope="module")
def servers():
    with HostileServer() as other, HostileServer() as hostile:
        hostile.redirect_to = f"http://127.0.0.1:{other.port}/ok"
        yield hostile, other


def _drive(client: str, url: str) -> dict:
    env = {**os.environ, **ENV, "DRIVE_MEMORY_LIMIT": str(LIMIT), "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "hostile_server.py"), "drive", client, url],
                         capture_output=True, text=True, env=env, timeout=180)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    return json.loads(res.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("payload", ["ok", *TOO_LARGE, *BROKEN, "redirect"])
def test_every_client_reads_a_hostile_server_within_bounds(client, payload, servers):
    hostile, other = servers
    before = len(other.requests)
    got = _drive(client, hostile.url(payload))
    assert got["peak_rss_mb"] < 200, got  # a 16 MiB reply cap, whatever the server sends
    batch = client.startswith("batch")
    if payload == "ok":
        assert got["outcome"] == "answer", got
    elif payload == "big-json" and batch:  # the results file is read; the one oversized answer rejects its item
        assert got["answer"] == [["aa", "Completion", None], ["bb", "BatchItemError", "reply_too_large"]], got
    elif payload in TOO_LARGE and batch:  # a results file past max_batch_results_bytes: the run stops, saying so
        assert got["outcome"] == "TeacherError" and "larger than 256 MiB" in got["message"], got
    elif payload in TOO_LARGE:
        assert (got["outcome"], got["field"]) == ("Refused", "reply_too_large"), got
        assert "larger than 16 MiB" in got["message"] and "max_reply_bytes" in got["message"], got
        if payload == "big-json":  # the message quotes the reply's first bytes, not the reply
            assert "it began: '{" in got["message"] and len(got["message"]) < 1000, got
    elif payload in BROKEN:  # not a readable response: retried, with what was wrong
        assert got["outcome"] == "RetryableError", got
        assert any(w in got["message"] for w in ("64 KiB", "Content-Length", "interim", "headers")), got
    else:
        assert got["outcome"] == "TeacherError" and "redirect to http://127.0.0.1:" in got["message"], got
        assert "another host or port" in got["message"], got
    assert len(other.requests) == before, "a request (and its key) went to the host a redirect named"


def _run(cfg: Path) -> subprocess.CompletedProcess[str]:
    """`distill run` with its address space limited to LIMIT."""
    code = (f"import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT})); "
            f"sys.argv = ['distill', 'run', {str(cfg)!r}, '--no-progress']; "
            "runpy.run_module('distill.cli.main', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **ENV}, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["http", "aiohttp"])
@pytest.mark.parametrize("payload", ["gzip-bomb", "big-json"])
def test_a_run_rejects_oversized_replies_and_resumes(transport, payload, servers, tmp_path):
    hostile, _ = servers
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
name: hostile-bytes
teacher: {{provider: openai, model: m, base_url: {hostile.url(payload)}, max_retries: 1, transport: {transport}}}
out: {out}
input: {{path: {ROOT / 'recipes' / 'data' / 'instructions.jsonl'}}}
num: 4
""")
    for attempt in ("first run", "re-run"):
        res = _run(cfg)
        assert res.returncode == 1 and "Traceback" not in res.stderr, f"{attempt}: {res.stderr[-3000:]}"
        rejected = read_jsonl(out / "rejected.jsonl")
        assert len(rejected) == 4 and {r["reason"] for r in rejected} == {"reply_too_large"}, rejected
        assert "larger than 16 MiB" in json.dumps(rejected[0])
        assert (out / "rejected.jsonl").stat().st_size < 64_000  # a prefix per item, never the reply
        assert not (out / "data.jsonl").exists() or read_jsonl(out / "data.jsonl") == []
