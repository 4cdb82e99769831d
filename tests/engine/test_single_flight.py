"""Identical calls in flight at once are paid once (issue #33): the first sends the request, the others wait for
it and read its answer from the cache (cache hits); a failure the first call meets is theirs too; a first call
that is cancelled leaves the request to one of them."""

from __future__ import annotations

import asyncio

import pytest
from fake_teacher import FakeTeacher

from distill.engine.cache import CallCache
from distill.engine.teacher import CallFailed, Teacher
from distill.engine.usage import Usage
from distill.providers.base import GenerationParams
from distill.providers.registry import create_provider, provider_spec

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _teacher(tmp_path, url, role="teacher", **extra):
    spec = provider_spec({"provider": "openai", "model": "m", "base_url": url, "max_concurrency": 32, **extra})
    usage = Usage()
    return Teacher(role, create_provider(spec), CallCache(tmp_path / "cache.sqlite"), usage.role(role),
                   GenerationParams(max_tokens=16, seed=0))


def test_twenty_identical_calls_at_once_send_one_request(tmp_path):
    with FakeTeacher(latency=0.3) as server:
        teacher = _teacher(tmp_path, server.url)

        async def go():
            try:
                return await asyncio.gather(*(teacher.complete(QUESTION) for _ in range(20)))
            finally:
                await teacher.close()

        answers = asyncio.run(go())
        assert server.stats()["requests"] == 1
    assert len({a.choices[0].text for a in answers}) == 1
    assert (teacher.usage.requests, teacher.usage.answered, teacher.usage.cache_hits) == (1, 1, 19)
    assert len(teacher.cache.flights) == 0


def test_raw_completions_are_single_flight_too(tmp_path):
    with FakeTeacher(latency=0.3, raw="completions") as server:
        teacher = _teacher(tmp_path, server.url)

        async def go():
            try:
                return await asyncio.gather(*(teacher.complete_raw("Once upon a time") for _ in range(8)))
            finally:
                await teacher.close()

        answers = asyncio.run(go())
        assert len(server.bodies()) == 1
    assert len({a.choices[0].text for a in answers}) == 1 and teacher.usage.cache_hits == 7


def test_the_first_calls_failure_is_every_waiters_and_nothing_is_cached(tmp_path):
    with FakeTeacher(latency=0.2, fail=1.0) as server:
        teacher = _teacher(tmp_path, server.url, max_retries=0)

        async def go():
            try:
                return await asyncio.gather(*(teacher.complete(QUESTION) for _ in range(6)), return_exceptions=True)
            finally:
                await teacher.close()

        results = asyncio.run(go())
        assert server.stats()["requests"] == 1
    assert all(isinstance(r, CallFailed) and "HTTP 500" in str(r.error) for r in results)
    assert teacher.cache.get(teacher.key(QUESTION, teacher.defaults)) is None  # the next run asks again
    assert (teacher.usage.requests, teacher.usage.failed, teacher.usage.cache_hits) == (1, 1, 0)


def test_a_waiter_sends_the_request_when_the_first_call_is_cancelled(tmp_path):
    with FakeTeacher(latency=0.3) as server:
        teacher = _teacher(tmp_path, server.url)

        async def go():
            try:
                first = asyncio.ensure_future(teacher.complete(QUESTION))
                await asyncio.sleep(0.1)
                second = asyncio.ensure_future(teacher.complete(QUESTION))
                await asyncio.sleep(0.05)
                first.cancel()
                answer = await second
                with pytest.raises(asyncio.CancelledError):
                    await first
                return answer
            finally:
                await teacher.close()

        answer = asyncio.run(go())
        assert server.stats()["requests"] == 2  # the cancelled one was on the wire; its answer never came
    assert answer.choices[0].text.startswith("Answer ") and teacher.usage.answered == 1


def test_identical_calls_in_batch_mode_are_one_request_line(tmp_path):
    from openai_batch_server import OpenAIBatchServer

    with OpenAIBatchServer(batch={"polls": 1}) as server:
        teacher = _teacher(tmp_path, server.url, batch={"poll_seconds": 0.05, "gather_seconds": 0.05})

        async def go():
            try:
                return await asyncio.gather(*(teacher.complete(QUESTION) for _ in range(10)))
            finally:
                await teacher.stop_batches()
                await teacher.close()

        answers = asyncio.run(go())
        uploads = server.batch_stats()["uploads"]
    assert list(uploads.values()) == [1] and len({a.choices[0].text for a in answers}) == 1
    assert (teacher.usage.batched, teacher.usage.cache_hits) == (1, 9)
