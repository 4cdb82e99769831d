"""The OpenAI batch backend against the scripted Batch API: each kind of entry read as what it is (answer,
expired, server error, refusal, prompt too long), a batch that is gone, a wrong key, and no second batch on a
file when a creation is retried or resumed."""

from __future__ import annotations

import asyncio
import json

import pytest
from openai_batch_server import OpenAIBatchServer

from distill.batch.backend import BatchItemError, BatchNotFound
from distill.batch.openai_batch import OpenAIBatchBackend
from distill.errors import TeacherError
from distill.providers.base import Completion, GenerationParams
from distill.providers.registry import spec_class

RULES = [{"match": "^Hello", "reply": "<think>Greet back.</think>Hi! **Nice** to meet you."}]


def backend(url: str, **extra) -> OpenAIBatchBackend:
    return OpenAIBatchBackend(spec_class("openai")(provider="openai", model="fake-model", base_url=url, **extra))


async def run_batch(b: OpenAIBatchBackend, prompts: list[str]) -> tuple[str, dict]:
    lines = [b.encode(f"c{i}", [{"role": "user", "content": p}], GenerationParams(max_tokens=8))
             for i, p in enumerate(prompts)]
    upload = await b.upload(lines)
    batch = await b.create(upload, lines)
    polls = 0
    while (await b.poll(batch)).status == "running":
        polls += 1
    results = {cid: r async for cid, r in b.results(batch)}
    await b.close()
    return batch, {"polls": polls, "results": results}


def test_each_kind_of_entry_is_read_as_what_it_is():
    with OpenAIBatchServer(rules=RULES, max_prompt_chars=60,
                           batch={"polls": 3, "refuse_match": "forbidden", "expire_pct": 0}) as server:
        prompts = ["Hello there", "Please do the forbidden thing", "x" * 100, "Hello again"]
        _, got = asyncio.run(run_batch(backend(server.url), prompts))
        assert got["polls"] == 2
        r = got["results"]
        assert isinstance(r["c0"], Completion) and r["c0"].choices[0].text == "Hi! **Nice** to meet you."
        assert r["c0"].choices[0].reasoning == "Greet back." and r["c0"].usage.completion_tokens > 0
        assert r["c1"] == BatchItemError("invalid_request_error", r["c1"].message, retry=False)
        assert r["c2"].kind == "context_length" and not r["c2"].retry
        assert isinstance(r["c3"], Completion)
        body = server.batch_stats()
        assert body["lines"] == 4


def test_expired_and_server_failed_entries_are_to_be_sent_again():
    with OpenAIBatchServer(batch={"polls": 1, "expire_pct": 40, "fail_pct": 30}) as server:
        _, got = asyncio.run(run_batch(backend(server.url), [f"Question {i}" for i in range(40)]))
        errors = {cid: e for cid, e in got["results"].items() if isinstance(e, BatchItemError)}
        assert {e.kind for e in errors.values()} == {"expired", "server_error"}
        assert all(e.retry for e in errors.values())
        assert len(errors) == len(server.batch_stats()["faulted"])


def test_a_batch_the_provider_does_not_know_is_gone():
    with OpenAIBatchServer(batch={"polls": 1}) as server:
        async def gone() -> None:
            b = backend(server.url)
            try:
                with pytest.raises(BatchNotFound):
                    await b.poll("batch_000999")
            finally:
                await b.close()

        asyncio.run(gone())


def test_a_retried_or_resumed_creation_finds_the_batch_already_made_on_the_file():
    with OpenAIBatchServer(batch={"polls": 1}) as server:
        async def twice() -> tuple[str, str, str]:
            b = backend(server.url)
            lines = [b.encode("c0", [{"role": "user", "content": "hi"}], GenerationParams())]
            upload = await b.upload(lines)
            first = await b.create(upload, lines)
            again = await b.create(upload, lines)  # a retry after an answer that was lost
            resumed = await backend(server.url).create(upload, [])  # a new process, from the recorded file
            await b.close()
            return first, again, resumed

        first, again, resumed = asyncio.run(twice())
        assert first == again == resumed and server.batch_stats()["batches"] == 1


def test_the_request_line_is_a_chat_completion_request_with_the_teachers_settings():
    b = backend("http://127.0.0.1:9/v1", extra_body={"top_k": 20})
    line = json.loads(b.encode("abc", [{"role": "user", "content": "hi"}], GenerationParams(n=2, seed=7)))
    assert line == {"custom_id": "abc", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "n": 2,
                             "seed": 7, "top_k": 20}}


def test_a_wrong_key_stops_the_run(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with OpenAIBatchServer(api_key="sk-right") as server:
        async def upload() -> None:
            b = backend(server.url)
            try:
                await b.upload([b"{}"])
            finally:
                await b.close()

        with pytest.raises(TeacherError, match="rejected the API key"):
            asyncio.run(upload())
