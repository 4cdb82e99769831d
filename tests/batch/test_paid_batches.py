"""Batches that were paid for, through the real CLI against the scripted OpenAI and Anthropic batch APIs: what the
provider gets wrong after the batch was billed never loses it, never makes a new batch for answers already had,
and never ends in a traceback.

* a damaged results file (a cut last line, a first line `[1,2,3]`, a line whose `response` is "oops"): every valid
  line is saved, the bad ones go again, a re-run makes no new batch, `distill status` tells how it went;
* a poll answered without a status: looked at again later, never "failed as a whole";
* a results file that answers 404: downloaded again (and by the next run), never a new batch;
* a file id that is a path (`../../stolen/x?`): requested as an id, never as another path of the host;
* a batch made but answered without its id: found on its file (OpenAI), or the run stops saying so (Anthropic,
  where making it again could pay twice);
* credentials in `base_url`: the batches go and come back (no aiohttp ValueError), the password in no message.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anthropic_server import AnthropicServer
from helpers import distill, read_jsonl, write
from openai_batch_server import OpenAIBatchServer

FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2}"
N = 4
CLEAN = ("Traceback", "Unclosed", "Exception in", "ValueError")


class Provider:
    """One scripted batch API with what the tests ask of it, alike for both; counts are since the server started
    (the Anthropic one starts its counters again when configured: they are kept here)."""

    def __init__(self, name: str, server: Any) -> None:
        self.name, self.server = name, server
        self._made, self._sent = 0, Counter[str]()

    @property
    def url(self) -> str:
        return str(self.server.url)

    def configure(self, **cfg: Any) -> None:
        if self.name == "openai":
            self.server.configure_batches(**cfg)
        else:
            self._made, self._sent = self.batches(), Counter(self.sent())
            self.server.configure(**{"polls_to_end": 1, **cfg})

    def batches(self) -> int:
        if self.name == "openai":
            return int(self.server.batch_stats()["batches"])
        return self._made + int(self.server.stats()["batches"])

    def sent(self) -> dict[str, int]:
        """How often each request line was sent to the provider, per custom_id."""
        if self.name == "openai":
            return dict(self.server.batch_stats()["uploads"])
        return dict(self._sent + Counter(self.server.stats()["custom_ids"]))


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    if request.param == "openai":
        with OpenAIBatchServer(batch={"polls": 1}) as server:
            yield Provider("openai", server)
    else:
        with AnthropicServer(polls_to_end=1) as server:
            yield Provider("anthropic", server)


def config(tmp_path: Path, provider: str, url: str, *, batch: str = FAST) -> Path:
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}: say something"}) + "\n"
                                               for i in range(N)))
    model = "teacher-m" if provider == "openai" else "claude-haiku-4-5"
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: {provider}, model: {model}, base_url: '{url}', batch: {batch}}}
generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")


def run(cfg: Path) -> Any:
    res = distill("run", str(cfg), "--no-progress", timeout=600)
    assert not any(bad in res.stderr for bad in CLEAN), res.stderr
    return res


def records(tmp_path: Path) -> list[dict[str, Any]]:
    return read_jsonl(tmp_path / "run" / "data.jsonl")


def answers_in_cache(tmp_path: Path) -> int:
    db = sqlite3.connect(tmp_path / "run" / "cache.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["cut", "array", "oops"])
def test_a_damaged_results_file_saves_every_valid_line_and_sends_only_the_bad_ones_again(tmp_path, provider, fault):
    provider.configure(results_fault=fault)
    cfg = config(tmp_path, provider.name, provider.url)
    res = run(cfg)
    assert res.returncode == 0, res.stderr
    assert len(records(tmp_path)) == N
    sent = provider.sent()
    assert len(sent) == N
    if fault == "array":  # a line that is no result holds no answer: all four answers are in the file
        assert provider.batches() == 1 and set(sent.values()) == {1}
    else:  # the line cut in half, or the one whose result is "oops": that request alone goes again
        assert provider.batches() == 2 and sorted(sent.values()) == [1] * (N - 1) + [2]
    assert "1 unreadable line" in res.stderr, res.stderr

    again = run(cfg)  # a re-run pays for nothing: every answer was saved
    assert again.returncode == 0, again.stderr
    assert provider.sent() == sent and answers_in_cache(tmp_path) == N

    status = distill("status", str(tmp_path / "run"))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "0 pending" in status.stdout and "answers collected from batches: 4" in status.stdout, status.stdout
    first = next(line for line in lines if line.startswith("  ") and "collected" in line)
    assert "1 unreadable line in the results file" in first and (
        "3/4 answered" if fault != "array" else "4/4 answered") in first, status.stdout


def test_a_poll_answered_without_a_status_is_looked_at_again_not_failed(tmp_path, provider):
    provider.configure(statusless_polls=3)  # as many as max_attempts: the old reading made 3 failed batches
    res = run(config(tmp_path, provider.name, provider.url))
    assert res.returncode == 0, res.stderr
    assert provider.batches() == 1 and set(provider.sent().values()) == {1}
    assert "failed as a whole" not in res.stderr and "no status" in res.stderr, res.stderr
    assert len(records(tmp_path)) == N


@pytest.mark.slow
def test_a_results_file_that_answers_404_is_downloaded_again_never_sent_again(tmp_path, provider):
    missing = "missing_files" if provider.name == "openai" else "missing_results"
    provider.configure(**{missing: 10**6})
    cfg = config(tmp_path, provider.name, provider.url)
    res = run(cfg)
    assert res.returncode == 1, res.stderr  # every item failed this time: said, with the cause
    assert "results" in res.stderr and "404" in res.stderr and "not known to the provider" not in res.stderr
    assert provider.batches() == 1
    status = distill("status", str(tmp_path / "run")).stdout
    assert "1 pending" in status and f"requests with the provider now: {N}" in status, status

    provider.configure(**{missing: 0})
    again = run(cfg)
    assert again.returncode == 0, again.stderr
    assert "collecting 4 requests from 1 batch(es) an earlier run submitted" in again.stderr
    assert provider.batches() == 1 and set(provider.sent().values()) == {1}
    assert len(records(tmp_path)) == N


def test_a_batch_made_but_answered_without_its_id_is_never_made_twice(tmp_path, provider):
    provider.configure(nameless_creates=1)
    res = run(config(tmp_path, provider.name, provider.url))
    assert provider.batches() == 1 and set(provider.sent().values()) == {1}
    if provider.name == "openai":  # found again among the batches, by the file it was made on
        assert res.returncode == 0, res.stderr
        assert len(records(tmp_path)) == N
    else:  # nothing names it: the run stops with the message, exit 1
        assert res.returncode == 1 and "names no batch id" in res.stderr and "Stopping" in res.stderr, res.stderr


def test_a_file_id_that_is_a_path_is_never_requested_as_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with OpenAIBatchServer(batch={"polls": 1, "output_file_id": "../../stolen/x?"}) as server:
        res = run(config(tmp_path, "openai", server.url))
        stats = server.batch_stats()
    assert not [p for p in stats["paths"] if not p.startswith("/v1/")], stats["paths"]
    assert "/v1/files/..%2F..%2Fstolen%2Fx%3F/content" in stats["paths"]
    assert stats["batches"] == 1  # a file that cannot be read is not a reason to pay again
    assert res.returncode == 1 and "results" in res.stderr, res.stderr


@pytest.mark.parametrize("key", ["sk-test", None])
def test_credentials_in_the_base_url_reach_the_batch_api(tmp_path, monkeypatch, key):
    # with a key, its bearer token is the Authorization header, as for immediate calls; without one, the URL's
    # user and password are (HTTP basic auth)
    if key is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    with OpenAIBatchServer(batch={"polls": 1}) as server:
        url = server.url.replace("http://", "http://user:s3cr3t@")
        res = run(config(tmp_path, "openai", url))
        stats = server.batch_stats()
    assert res.returncode == 0, res.stderr
    assert stats["auth"] == ["Bearer sk-test" if key else "Basic dXNlcjpzM2NyM3Q="]
    assert "s3cr3t" not in res.stderr and len(records(tmp_path)) == N
