"""The hard budget (issue #33) at the engine: each request reserves its worst case before it is sent, spent plus
reserved never passes the limit, a request that cannot fit waits for those in flight to settle, and when nothing
is in flight and it still cannot fit, `BudgetReached` is raised and nothing more is sent."""

from __future__ import annotations

import asyncio

from fake_teacher import FakeTeacher

from distill.engine.budget import Budget, BudgetReached, Spend, worst_case
from distill.engine.cache import CallCache
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.providers.base import GenerationParams
from distill.providers.registry import create_provider, provider_spec
from distill.providers.spec import Price

PRICE = Price(prompt_per_mtok=1000, completion_per_mtok=2000)


def _teacher(tmp_path, url, budget):
    spec = provider_spec({"provider": "openai", "model": "m", "base_url": url, "max_concurrency": 16,
                          "price": PRICE.model_dump()})
    return Teacher("teacher", create_provider(spec), CallCache(tmp_path / "cache.sqlite"), Usage().role("teacher"),
                   GenerationParams(max_tokens=32, seed=0), budget)


def _question(i):
    return [{"role": "user", "content": f"Question number {i}: name a colour"}]


async def _ask_all(teacher, n):
    try:
        return await asyncio.gather(*(teacher.complete(_question(i)) for i in range(n)), return_exceptions=True)
    finally:
        await teacher.close()


def test_a_budget_for_one_request_at_a_time_sends_them_one_by_one_and_stops_under_it(tmp_path):
    worst = worst_case(_question(10), GenerationParams(max_tokens=32, seed=0), provider_spec(
        {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}), PRICE)
    budget = Budget(Spend(usd=worst.usd * 1.9), Spend())  # two worst cases never fit at once
    with FakeTeacher(latency=0.05) as server:
        teacher = _teacher(tmp_path, server.url, budget)
        results = asyncio.run(_ask_all(teacher, 30))
        stats = server.stats()
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert stats["max_in_flight"] == 1 and stats["requests"] == len(answered) == teacher.usage.answered
    assert len(answered) >= 2  # each answer cost less than its worst case, so the next one fitted
    assert all(isinstance(r, BudgetReached) for r in results if isinstance(r, BaseException))
    assert budget.spent.usd <= worst.usd * 1.9 and budget.holds == 0
    assert abs(budget.spent.usd - teacher.usage.cost_usd) < 1e-12  # settled at what the answers cost


def test_a_tokens_budget_counts_what_earlier_runs_spent(tmp_path):
    with FakeTeacher() as server:
        fresh = Budget(Spend(tokens=500), Spend())
        (tmp_path / "a").mkdir()
        teacher = _teacher(tmp_path / "a", server.url, fresh)
        results = asyncio.run(_ask_all(teacher, 40))
        first = sum(not isinstance(r, BaseException) for r in results)
        assert 0 < first < 40 and fresh.spent.tokens <= 500
        assert fresh.spent.tokens == teacher.usage.prompt_tokens + teacher.usage.completion_tokens

        before = server.stats()["requests"]
        used = Budget(Spend(tokens=2_000), Spend(tokens=1_950))  # a folder that spent 1,950 tokens before
        (tmp_path / "b").mkdir()
        results = asyncio.run(_ask_all(_teacher(tmp_path / "b", server.url, used), 40))
        assert all(isinstance(r, BudgetReached) for r in results)
        assert server.stats()["requests"] == before  # not one request sent
    message = str(results[0])
    assert "Budget reached" in message and "1,950 of its 2,000 tokens" in message
    assert "--max-tokens-total 4000" in message


def test_cached_answers_cost_nothing_against_the_budget(tmp_path):
    with FakeTeacher() as server:
        teacher = _teacher(tmp_path, server.url, None)
        assert not any(isinstance(r, BaseException) for r in asyncio.run(_ask_all(teacher, 10)))
        teacher.cache.close()
        tiny = Budget(Spend(tokens=1), Spend())
        again = _teacher(tmp_path, server.url, tiny)
        results = asyncio.run(_ask_all(again, 10))
        assert server.stats()["requests"] == 10
    assert not any(isinstance(r, BaseException) for r in results) and again.usage.cache_hits == 10
    assert tiny.spent == Spend()


def test_batch_mode_reserves_each_request_until_its_batch_answers(tmp_path):
    from openai_batch_server import OpenAIBatchServer

    spec = provider_spec({"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"})
    worst = worst_case(_question(10), GenerationParams(max_tokens=32, seed=0), spec, None)
    budget = Budget(Spend(tokens=worst.tokens * 5), Spend())  # five requests' worst cases at a time
    with OpenAIBatchServer(batch={"polls": 1}) as server:
        teacher = Teacher("teacher", create_provider(provider_spec(
            {"provider": "openai", "model": "m", "base_url": server.url,
             "batch": {"poll_seconds": 0.05, "gather_seconds": 0.05}})), CallCache(tmp_path / "cache.sqlite"),
            Usage().role("teacher"), GenerationParams(max_tokens=32, seed=0), budget)

        async def go():
            try:
                return await asyncio.gather(*(teacher.complete(_question(i)) for i in range(30)),
                                            return_exceptions=True)
            finally:
                await teacher.stop_batches()
                await teacher.close()

        results = asyncio.run(go())
        books = server.batch_stats()
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert max(books["sizes"]) <= 5 and len(books["sizes"]) >= 2  # never more out at once than fits
    assert sum(books["uploads"].values()) == len(answered) == teacher.usage.batched
    assert 5 <= len(answered) < 30 and budget.spent.tokens <= worst.tokens * 5 and budget.holds == 0
    assert all(isinstance(r, BudgetReached) for r in results if isinstance(r, BaseException))
