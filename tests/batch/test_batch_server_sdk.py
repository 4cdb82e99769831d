"""The scripted batch server speaks the real API: the official `openai` client uploads, creates, polls and
downloads through it, and reads every object into its own types."""

from __future__ import annotations

import json

import pytest
from openai_batch_server import OpenAIBatchServer


@pytest.fixture
def server():
    with OpenAIBatchServer(batch={"polls": 3, "expire_pct": 30},
                           rules=[{"match": "capital", "reply": "<think>Recall.</think>**Paris** is the capital."}]
                           ) as s:
        yield s


def line(i: int, text: str) -> bytes:
    return json.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": "fake-model", "messages": [{"role": "user", "content": text}],
                                "max_tokens": 16}}).encode()


def test_the_official_client_runs_a_batch_through_the_server(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url, api_key="sk-test")
    lines = [line(i, f"What is the capital of France? ({i})") for i in range(20)]
    uploaded = client.files.create(file=("in.jsonl", b"\n".join(lines) + b"\n"), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes > 0
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    assert batch.status == "validating" and batch.request_counts.total == 20
    statuses = []
    while batch.status in ("validating", "in_progress", "finalizing"):
        batch = client.batches.retrieve(batch.id)
        statuses.append(batch.status)
    assert statuses[0] == "in_progress" and len(statuses) == 3  # several polls before it ends
    assert batch.status == "expired"  # some entries did not make the window
    counts = batch.request_counts
    assert counts.completed + counts.failed == 20 and 0 < counts.failed < 20
    out = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    err = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
    assert len(out) == counts.completed and len(err) == counts.failed
    assert {r["custom_id"] for r in out} | {r["custom_id"] for r in err} == {f"req-{i}" for i in range(20)}
    reply = out[0]["response"]
    assert reply["status_code"] == 200
    assert reply["body"]["choices"][0]["message"]["content"].startswith("<think>")
    assert all(r["error"]["code"] == "batch_expired" for r in err)
    assert server.batch_stats()["uploads"] == {f"req-{i}": 1 for i in range(20)}


def test_an_unknown_batch_is_a_404_the_client_raises(server):
    from openai import NotFoundError, OpenAI

    client = OpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
    with pytest.raises(NotFoundError):
        client.batches.retrieve("batch_nope")
