"""Anthropic Message Batches: the backend against the scripted API (several polls, succeeded / expired / errored /
refused entries, a forgotten batch), read back by the official client, and batch mode through the real CLI
(teacher and judge batched, expired and failed entries and only those resubmitted, a kill while polling resumed
without sending anything again)."""

from __future__ import annotations

import asyncio
import json
import signal

import orjson
import pytest
from anthropic_server import AnthropicServer
from helpers import distill, read_jsonl, write
from test_batch_cli import start, wait_for_batches

from distill.batch.anthropic_batch import AnthropicBatchBackend
from distill.batch.backend import BatchItemError, BatchNotFound, backend_for
from distill.providers.base import Completion, GenerationParams
from distill.providers.registry import provider_spec

KEY = "sk-ant-api03-test-0123456789abcdefSECRET"
FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2, price_factor: 0.5}"
JUDGE = [{"match": r"# Response to grade\n+[\s\S]*?\[score=(\d+)\]",
          "reply": 'Here is my assessment.\n\n```json\n{"rationale": "scripted", "score": \\1}\n```'}]


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with AnthropicServer(api_key=KEY, rules=JUDGE, polls_to_end=3) as s:
        yield s


def _backend(url: str) -> AnthropicBatchBackend:
    backend = backend_for(provider_spec({"provider": "anthropic", "model": "claude-haiku-4-5", "base_url": url,
                                         "batch": True}))
    assert isinstance(backend, AnthropicBatchBackend)
    return backend


def test_the_backend_creates_polls_and_reads_every_kind_of_entry(server):
    server.configure(api_key=KEY, polls_to_end=3, max_prompt_chars=300)
    backend = _backend(server.url)
    params = GenerationParams(max_tokens=64, temperature=0.0, seed=3)
    asks = {"ok": "Summarise [[reply:A summary.]]", "late": "[[expire]] hello", "flaky": "[[batch_error]] hi",
            "long": "z" * 400}
    lines = [backend.encode(cid, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
                            params) for cid, text in asks.items()]
    bad = orjson.loads(lines[0])
    lines.append(orjson.dumps({"custom_id": "bad", "params": {**bad["params"], "n": 2}}))  # not a Messages field

    async def go():
        try:
            assert await backend.upload(lines) is None
            batch = await backend.create(None, lines)
            states = [await backend.poll(batch) for _ in range(3)]
            results = dict([r async for r in backend.results(batch)])
            with pytest.raises(BatchNotFound):
                await backend.poll("msgbatch_gone")
            return batch, states, results
        finally:
            await backend.close()

    batch, states, results = asyncio.run(go())
    assert [s.status for s in states] == ["running", "running", "ended"]
    assert (states[0].done, states[0].total) == (0, 5) and (states[-1].done, states[-1].errored) == (5, 4)
    assert isinstance(results["ok"], Completion) and results["ok"].choices[0].text == "A summary."
    assert results["late"] == BatchItemError("expired", "the request was expired before it was processed", True)
    assert isinstance(results["flaky"], BatchItemError) and (results["flaky"].kind, results["flaky"].retry) == (
        "server_error", True)
    assert isinstance(results["long"], BatchItemError) and (results["long"].kind, results["long"].retry) == (
        "context_length", False)
    assert isinstance(results["bad"], BatchItemError) and (results["bad"].kind, results["bad"].retry) == (
        "invalid_request", False) and "n: Extra inputs" in results["bad"].message
    sent = orjson.loads(lines[0])["params"]
    assert sent["system"] == "Be brief." and "seed" not in sent and sent["temperature"] == 0.0

    anthropic = pytest.importorskip("anthropic")  # the official client reads the batch we made the same way
    client = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0)
    assert client.messages.batches.retrieve(batch).processing_status == "ended"
    official = {r.custom_id: r.result for r in client.messages.batches.results(batch)}
    assert official["ok"].type == "succeeded"
    assert "".join(b.text for b in official["ok"].message.content) == "A summary."  # in two text blocks here
    assert {cid: r.type for cid, r in official.items()} == {"ok": "succeeded", "late": "expired",
                                                            "flaky": "errored", "long": "errored", "bad": "errored"}


def _config(tmp_path, url, rows, *, out="run", batch=FAST):
    inp = tmp_path / "in.jsonl"
    if not inp.exists():
        write(inp, "".join(json.dumps({"instruction": r}) + "\n" for r in rows))
    price = "price: {prompt_per_mtok: 3.0, completion_per_mtok: 15.0}"
    batch_line = f", batch: {batch}" if batch else ""
    return write(tmp_path / f"{out}.yaml", f"""recipe: respond
teacher: {{provider: anthropic, model: claude-sonnet-4-6, base_url: '{url}', {price}{batch_line}}}
judge: {{provider: anthropic, model: claude-haiku-4-5, base_url: '{url}', {price}{batch_line}}}
quality: {{rubric: overall}}
generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / out}
""")


def test_batch_mode_through_the_cli_resubmits_only_what_expired_or_failed(tmp_path, server):
    rows = [f"Task {i} [score={i % 9 + 1}]" + (" [[expire]]" if i % 25 == 0 else "")
            + (" [[batch_error]]" if i % 40 == 7 else "") for i in range(400)]
    res = distill("run", str(_config(tmp_path, server.url, rows)), "--no-progress")
    assert res.returncode == 0, res.stderr
    stats = server.stats()
    assert stats.get("requests", 0) == 0  # not one immediate call
    faulted = {i for i in range(400) if i % 25 == 0 or i % 40 == 7}
    counts = stats["custom_ids"]
    # 400 answers and 400 grades; a marked row's grading prompt quotes its instruction, so it meets the fault too
    assert len(counts) == 800 and sorted(counts.values()) == [1] * (800 - 2 * len(faulted)) + [2] * 2 * len(faulted)
    assert stats["batch_lines"] == 800 + 2 * len(faulted)  # in 4 or 5 batches, as answers come back in waves
    assert "expired" in res.stderr and "server_error" in res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert len(data) == 400 and data[3]["meta"]["scores"]["judge.overall"] == 4
    usage = json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]
    for role in ("teacher", "judge"):
        assert usage[role]["batched"] == 400 and usage[role]["batch_price_factor"] == 0.5

    again = distill("run", str(_config(tmp_path, server.url, rows)), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert server.stats()["batch_lines"] == stats["batch_lines"]  # a re-run pays for nothing
    assert read_jsonl(tmp_path / "run" / "data.jsonl") == data


def test_a_kill_while_polling_then_the_same_command_sends_nothing_again(tmp_path, server):
    server.configure(api_key=KEY, rules=JUDGE, polls_to_end=10**6)
    rows = [f"Task {i} [score=7]" for i in range(150)]
    cfg = _config(tmp_path, server.url, rows, batch=FAST.replace("}", ", max_requests: 60}"))
    proc = start(cfg)
    wait_for_batches(tmp_path / "run", proc, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert server.stats()["batch_lines"] == 150
    status = distill("status", str(tmp_path / "run"))
    assert "3 pending" in status.stdout, status.stdout

    server.configure(api_key=KEY, rules=JUDGE, polls_to_end=1)  # counters reset; the batches stay
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "collecting 150 requests from 3 batch(es)" in res.stderr
    custom_ids = server.stats()["custom_ids"]
    assert len(custom_ids) == 150 and set(custom_ids.values()) == {1}  # only the judge's grades went up now
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 150


def test_ten_thousand_requests_none_lost_each_line_sent_once_bar_the_expired(tmp_path, server):
    rows = [f"Task {i}" + (" [[expire]]" if i % 97 == 0 else "") for i in range(10_000)]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in rows))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: anthropic, model: claude-haiku-4-5, base_url: '{server.url}',
           batch: {FAST.replace("}", ", max_requests: 4000}")}}}
generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    expired = {i for i in range(10_000) if i % 97 == 0}
    counts = server.stats()["custom_ids"]
    assert len(counts) == 10_000 and sorted(counts.values()) == [1] * (10_000 - len(expired)) + [2] * len(expired)
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert sorted(r["instruction"] for r in data) == sorted(rows)  # 0 lost, 0 duplicated
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]["teacher"]["batched"] == 10_000


def test_n_samples_in_batch_mode_are_n_single_requests(tmp_path, server):
    from distill.engine.cache import CallCache
    from distill.engine.teacher import Teacher
    from distill.engine.usage import Usage
    from distill.providers.registry import create_provider

    spec = provider_spec({"provider": "anthropic", "model": "claude-haiku-4-5", "base_url": server.url,
                          "batch": {"poll_seconds": 0.05, "gather_seconds": 0.05}})
    teacher = Teacher("teacher", create_provider(spec), CallCache(tmp_path / "cache.sqlite"), Usage().role("teacher"),
                      GenerationParams())

    async def go():
        return await teacher.complete([{"role": "user", "content": "Name a colour"}], teacher.params(n=3))

    completion = asyncio.run(go())
    assert len(completion.choices) == 3 and len({c.text for c in completion.choices}) == 3
    stats = server.stats()
    assert stats["batch_lines"] == 3 and stats.get("requests", 0) == 0
