"""tests/anthropic_server.py is faithful: the official `anthropic` client reads its messages, its errors and its
Message Batches exactly as it reads Anthropic's, so what distill's provider and batch backend are tested against
is the API's shape, not our own idea of it."""

from __future__ import annotations

import pytest
from anthropic_server import AnthropicServer

anthropic = pytest.importorskip("anthropic")

KEY = "sk-ant-api03-test-0123456789abcdefSECRET"


@pytest.fixture
def server():
    with AnthropicServer(api_key=KEY, rules=[{"match": r"grade", "reply": 'Sure!\n```json\n{"score": 4}\n```'}]) as s:
        yield s


def test_messages_system_thinking_blocks_and_usage(server):
    client = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0)
    msg = client.messages.create(model="claude-sonnet-4-6", max_tokens=200, system="Be brief.",
                                 messages=[{"role": "user", "content": "Please grade this"}],
                                 thinking={"type": "adaptive"})
    assert [b.type for b in msg.content][0] == "thinking" and "PONDERING" in msg.content[0].thinking
    assert "".join(b.text for b in msg.content if b.type == "text") == 'Sure!\n```json\n{"score": 4}\n```'
    assert msg.stop_reason == "end_turn" and msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    sent = server.headers()  # what this SDK sends: the 2026-10-21 version and a bearer token
    assert sent["anthropic-version"] == "2026-10-21" and sent["Authorization"] == f"Bearer {KEY}"

    cut = client.messages.create(model="claude-sonnet-4-6", max_tokens=3, stop_sequences=["to:"],
                                 messages=[{"role": "user", "content": "hello there, a long question"}])
    assert cut.stop_reason in ("stop_sequence", "max_tokens")


def test_errors_are_the_sdks_own_exceptions(server):
    client = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0)
    user = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=server.url, api_key="sk-ant-wrong", max_retries=0).messages.create(
            model="m", max_tokens=5, messages=user)
    with pytest.raises(anthropic.BadRequestError, match="Unexpected role"):
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "system", "content": "x"}, *user])
    with pytest.raises(anthropic.BadRequestError, match="n: Extra inputs"):
        client.messages.create(model="m", max_tokens=5, messages=user, extra_body={"n": 2})
    with pytest.raises(anthropic.BadRequestError, match="temperature: Extra inputs"):  # gone in 2026-10-21
        client.messages.create(model="m", max_tokens=5, messages=user, extra_body={"temperature": 1.0})
    old = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0,
                              default_headers={"anthropic-version": "2023-06-01"})
    assert old.messages.create(model="m", max_tokens=5, messages=user, extra_body={"temperature": 0.0}).content
    server.configure(api_key=KEY, overloaded=1, rate_limited=1, max_prompt_chars=50)
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(model="m", max_tokens=5, messages=user)
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="m", max_tokens=5, messages=user)
    assert limited.value.response.headers["retry-after"] == "0.2"
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x" * 400}])
    assert client.messages.create(model="m", max_tokens=5, messages=user).content  # then it answers


def test_message_batches_several_polls_expired_and_errored_entries(server):
    client = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0)
    params = {"model": "claude-haiku-4-5", "max_tokens": 64}
    requests = [{"custom_id": "ok-1", "params": {**params, "messages": [{"role": "user", "content": "one"}]}},
                {"custom_id": "late", "params": {**params, "messages": [{"role": "user", "content": "[[expire]]"}]}},
                {"custom_id": "bad", "params": {**params, "messages": [{"role": "user", "content": "x"}], "n": 2}},
                {"custom_id": "flaky", "params": {**params,
                                                  "messages": [{"role": "user", "content": "[[batch_error]]"}]}}]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 4
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.results_url
    assert (ended.request_counts.succeeded, ended.request_counts.expired, ended.request_counts.errored) == (1, 1, 2)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["ok-1"].type == "succeeded" and results["ok-1"].message.content[0].type == "text"
    assert results["late"].type == "expired"
    assert results["bad"].type == "errored" and results["bad"].error.error.type == "invalid_request_error"
    assert results["flaky"].type == "errored" and results["flaky"].error.error.type == "api_error"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")

    again = client.messages.batches.create(requests=[requests[1]])  # type: ignore[list-item]
    for _ in range(2):
        client.messages.batches.retrieve(again.id)
    assert [r.result.type for r in client.messages.batches.results(again.id)] == ["succeeded"]  # expires once
    assert server.stats()["custom_ids"]["late"] == 2
