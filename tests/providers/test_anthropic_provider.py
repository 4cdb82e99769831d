"""The `anthropic` provider through the engine's Teacher, against the scripted Messages API on 127.0.0.1 (which
refuses what the real API refuses: an OpenAI-only field, a "system" role in messages, a missing max_tokens)."""

from __future__ import annotations

import asyncio

import pytest
from anthropic_server import AnthropicServer

from distill.engine.cache import CallCache
from distill.engine.call_failure import CallFailed, PromptRejected
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.errors import TeacherError
from distill.providers.base import GenerationParams
from distill.providers.registry import create_provider, provider_spec

KEY = "sk-ant-api03-test-0123456789abcdefSECRET"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with AnthropicServer(api_key=KEY) as s:
        yield s


def _teacher(tmp_path, url, **spec):
    usage = Usage()
    provider = create_provider(provider_spec({"provider": "anthropic", "model": "claude-sonnet-4-6",
                                              "base_url": url, "max_retries": 4, **spec}))
    return Teacher("teacher", provider, CallCache(tmp_path / "cache.sqlite"), usage.role("teacher"),
                   GenerationParams()), usage.role("teacher")


def _run(coro):
    return asyncio.run(coro)


def test_a_call_is_translated_both_ways(tmp_path, server):
    teacher, _ = _teacher(tmp_path, server.url, extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    messages = [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Use English."},
                {"role": "user", "content": "[[reply:Four.]] What is 2+2?"}]

    async def go():
        try:
            return await teacher.complete(messages, teacher.params(temperature=0.3, top_p=0.9, seed=5,
                                                                   stop=["\n\n", "END"]))
        finally:
            await teacher.provider.close()

    completion = _run(go())
    sent = server.bodies()[-1]
    assert sent["system"] == "Be brief.\n\nUse English." and [m["role"] for m in sent["messages"]] == ["user"]
    assert sent["max_tokens"] == 4096 and sent["temperature"] == 0.3 and "top_p" not in sent
    assert sent["stop_sequences"] == ["END"] and "seed" not in sent and "n" not in sent
    headers = server.headers()
    assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
    choice = completion.choices[0]
    assert choice.text == "Four." and choice.finish_reason == "stop"
    assert choice.reasoning is not None and choice.reasoning.startswith("PONDERING")
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0


def test_chatty_replies_split_over_text_blocks_are_joined_and_max_tokens_is_length(tmp_path, server):
    teacher, _ = _teacher(tmp_path, server.url)

    async def go():
        out = [await teacher.complete([{"role": "user", "content": f"question {i} about a long topic"}],
                                      teacher.params(max_tokens=64)) for i in range(8)]
        out.append(await teacher.complete([{"role": "user", "content": "a long question " * 10}],
                                          teacher.params(max_tokens=5)))
        await teacher.provider.close()
        return out

    answers = _run(go())
    texts = [a.choices[0].text for a in answers[:8]]
    assert all("Answer " in t and "to: question" in t for t in texts)
    assert any(t.startswith(("Certainly!", "Great question!")) for t in texts)  # lead-ins kept: they are the answer
    assert answers[-1].choices[0].finish_reason == "length" and len(answers[-1].choices[0].text) == 20


def test_n_samples_are_fanned_out_as_single_calls(tmp_path, server):
    teacher, usage = _teacher(tmp_path, server.url)

    async def go():
        try:
            return await teacher.complete([{"role": "user", "content": "Write a haiku"}],
                                          teacher.params(n=3, temperature=1.0))
        finally:
            await teacher.provider.close()

    completion = _run(go())
    assert len(completion.choices) == 3 and len({c.text for c in completion.choices}) == 3
    assert len(server.bodies()) == 3 and all("n" not in b for b in server.bodies())
    assert usage.capabilities["supports_n"] is False


def test_overloaded_and_rate_limited_are_retried(tmp_path, server):
    server.configure(api_key=KEY, overloaded=2, rate_limited=1, retry_after=0.1)
    teacher, usage = _teacher(tmp_path, server.url)

    async def go():
        try:
            return await teacher.complete([{"role": "user", "content": "hello"}])
        finally:
            await teacher.provider.close()

    assert _run(go()).choices[0].text
    assert usage.retry_reasons == {"http_529": 2, "http_429": 1} and usage.requests == 4


def test_a_prompt_too_long_rejects_the_item_and_a_bad_key_stops_without_showing_it(tmp_path, server, monkeypatch):
    server.configure(api_key=KEY, max_prompt_chars=100)
    teacher, usage = _teacher(tmp_path, server.url)

    async def go():
        try:
            await teacher.complete([{"role": "user", "content": "x" * 500}])
        finally:
            await teacher.provider.close()

    with pytest.raises(PromptRejected) as rejected:
        _run(go())
    assert "prompt is too long" in str(rejected.value) and usage.retries == 0

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY + "-wrong")
    (tmp_path / "other").mkdir()
    teacher, _ = _teacher(tmp_path / "other", server.url)
    with pytest.raises((TeacherError, CallFailed)) as refused:
        _run(go())
    assert "ANTHROPIC_API_KEY" in str(refused.value) and KEY not in str(refused.value)


def test_api_version_2026_sends_no_sampling_parameters(tmp_path, server):
    teacher, _ = _teacher(tmp_path, server.url, api_version="2026-10-21")

    async def go():
        try:
            return await teacher.complete([{"role": "user", "content": "hi"}], teacher.params(temperature=0.0))
        finally:
            await teacher.provider.close()

    assert _run(go()).choices[0].text
    assert "temperature" not in server.bodies()[-1] and server.headers()["anthropic-version"] == "2026-10-21"


def test_the_hosted_api_needs_a_key_and_anthropic_models_have_prices(monkeypatch):
    from distill.engine.prices import price_info
    from distill.errors import InputError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
        create_provider(provider_spec("anthropic:claude-sonnet-4-6"))
    for model in ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6"):
        info = price_info(provider_spec(f"anthropic:{model}"))
        assert info.source == "genai-prices" and info.price is not None and info.price.prompt_per_mtok > 0
        assert info.context_tokens and info.context_tokens >= 200_000
    assert price_info(provider_spec("anthropic:claude-sonnet-4-6@http://127.0.0.1:9")).price is None  # not billed


def test_an_error_body_that_echoes_the_key_is_redacted():
    from distill.providers.anthropic_wire import error_for

    body = ('{"type": "error", "error": {"type": "invalid_request_error", "message": "bad header x-api-key: '
            + KEY + '"}}')
    for status in (400, 401, 500, 529):
        error = error_for(status, body, {}, label="teacher anthropic:m", key_env="ANTHROPIC_API_KEY")
        assert KEY not in str(error) and "sk-ant" not in str(error)
