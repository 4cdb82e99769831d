"""`run/context.py`, `run/outcomes.py` and the local executor, driven directly: an item's events are applied by
the driver when the item finishes (the item log is the contract), a stored log replays the same rows, a failed
item runs again, and `ctx.call` turns unreadable replies and exhausted retries into the item's outcome."""

from __future__ import annotations

import asyncio

import pytest

from distill.config import RunConfig
from distill.engine.cache import CallCache
from distill.engine.call_failure import CallFailed
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.errors import RetryableError
from distill.executors.local import LocalExecutor
from distill.providers.base import Choice, Completion, GenerationParams, Provider
from distill.providers.spec import ProviderSpec
from distill.quality.replies import UnreadableReply
from distill.run.context import RunContext
from distill.run.folder import RunFolder, order_key
from distill.run.models import Models
from distill.run.outcomes import Outcomes
from distill.run.progress import Progress


class Echo(Provider):
    kind = "echo"

    async def complete(self, messages, params):
        return Completion(choices=[Choice(text="echo " + messages[-1]["content"])])


class Closing(Echo):
    closed: list[int] = []

    async def close(self) -> None:
        Closing.closed.append(id(self))


def make_ctx(path, fingerprint: bytes = b"f", run: str = "run") -> RunContext:
    """A context writing to `path/run`, with the call cache (and item logs) at `path/cache.sqlite`."""
    folder = RunFolder(path / run)
    folder.prepare("respond")
    folder.open_streams()
    usage = Usage()
    teacher = Teacher("teacher", Echo(ProviderSpec(provider="echo")), CallCache(path / "cache.sqlite"),
                      usage.role("teacher"), GenerationParams())
    return RunContext(config=RunConfig(recipe="respond"), models=Models(teacher),
                      outcomes=Outcomes(folder, Progress(None, "t", enabled=False), usage),
                      executor=LocalExecutor(), fingerprint=fingerprint)


def rows(ctx: RunContext, stream: str) -> list[tuple[int, dict]]:
    s = ctx.folder.streams[stream]
    return sorted((s.orders[i], s.read(i)) for i in range(len(s.orders)))


def test_an_items_outcomes_reach_the_folder_only_when_it_finishes(tmp_path):
    ctx = make_ctx(tmp_path)
    seen: list[int] = []

    async def worker(i: int) -> None:
        ctx.accept(order_key(i), "s", {"i": i})
        await asyncio.sleep(0.01 * (3 - i))
        seen.append(ctx.stage("s").accepted)  # what the driver had applied while this item was still running

    asyncio.run(ctx.map(range(3), worker))
    assert seen == [0, 1, 2]  # item 2 finishes first: nothing of its own is counted before it is done
    assert [r for _, r in rows(ctx, "data")] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_outcomes_reported_outside_an_item_apply_at_once(tmp_path):
    ctx = make_ctx(tmp_path)
    ctx.accept(order_key(0), "s", {"x": 1})
    ctx.tally("sec", "k", 2)
    assert ctx.stage("s").accepted == 1 and ctx.extra_manifest["sec"] == {"k": 2}


def test_a_stored_item_log_replays_the_same_rows_and_a_failed_item_runs_again(tmp_path):
    def worker_for(ctx: RunContext, calls: list[int]):
        async def worker(i: int) -> None:
            calls.append(i)
            reply = await ctx.teacher.complete([{"role": "user", "content": f"q{i}"}])
            ctx.reject(order_key(i, 0), "s", "short", {"i": i}, raw=reply.choices[0].text)
            if i == 1:
                ctx.fail(order_key(i, 1), "s", {"i": i}, CallFailed("teacher", RetryableError("boom"), 3))
                return
            ctx.accept(order_key(i, 2), "s", {"i": i, "a": reply.choices[0].text})
            ctx.tally("sec", "done")
        return worker

    first, calls = make_ctx(tmp_path), []
    asyncio.run(first.map(range(3), worker_for(first, calls), memo=lambda i: (i, b"%d" % i)))
    first.teacher.cache.close()
    second, again = make_ctx(tmp_path, run="again"), []
    asyncio.run(second.map(range(3), worker_for(second, again), memo=lambda i: (i, b"%d" % i)))
    assert sorted(calls) == [0, 1, 2] and again == [1]  # only the failed item runs again
    for stream in ("data", "rejected", "failed"):
        assert rows(second, stream) == rows(first, stream), stream
    assert rows(second, "failed")[0][1] == {"stage": "s", "item": {"i": 1}, "error": "boom", "attempts": 3}
    assert second.extra_manifest == first.extra_manifest == {"sec": {"done": 2}}
    assert {n: s.to_dict() for n, s in second.stages.items()} == {n: s.to_dict() for n, s in first.stages.items()}
    assert second.usage.role("teacher").cache_hits == 3  # 2 replayed items' calls + item 1's call, cached


def test_a_different_fingerprint_never_replays(tmp_path):
    calls: list[int] = []
    for fingerprint in (b"a", b"b"):
        ctx = make_ctx(tmp_path, fingerprint, run=fingerprint.decode())

        async def worker(i: int, ctx: RunContext = ctx) -> None:
            calls.append(i)
            ctx.accept(order_key(i), "s", {"i": i})

        asyncio.run(ctx.map(range(2), worker, memo=lambda i: (i, b"x")))
        ctx.teacher.cache.close()
    assert calls == [0, 1, 0, 1]


def test_call_turns_an_unreadable_reply_into_a_rejection_and_exhausted_retries_into_a_failure(tmp_path):
    ctx = make_ctx(tmp_path)

    async def unreadable() -> int:
        raise UnreadableReply("judge_unparseable", "no score", "Great answer!")

    async def exhausted() -> int:
        raise CallFailed("judge", RetryableError("HTTP 500"), 7)

    async def fine() -> int:
        return 5

    async def main() -> list:
        return [await ctx.call(order_key(1), "quality", {"k": 1}, unreadable()),
                await ctx.call(order_key(2), "quality", {"k": 2}, exhausted()),
                await ctx.call(order_key(3), "quality", {"k": 3}, fine())]

    assert asyncio.run(main()) == [None, None, 5]
    assert rows(ctx, "rejected") == [(order_key(1), {
        "stage": "quality", "reason": "judge_unparseable", "item": {"k": 1}, "raw": "Great answer!",
        "detail": "no score"})]
    assert rows(ctx, "failed") == [(order_key(2), {
        "stage": "quality", "item": {"k": 2}, "error": "HTTP 500", "attempts": 7})]


def test_call_lets_a_fatal_error_through(tmp_path):
    from distill.errors import TeacherError

    ctx = make_ctx(tmp_path)

    async def refused() -> None:
        raise TeacherError("wrong key")

    with pytest.raises(TeacherError):
        asyncio.run(ctx.call(order_key(0), "s", {}, refused()))


def test_the_local_executor_makes_one_provider_per_spec_and_closes_it(monkeypatch):
    import distill.providers.registry as registry

    monkeypatch.setitem(registry.PROVIDERS, "closing", f"{__name__}:Closing")
    executor = LocalExecutor()

    async def main() -> tuple:
        a = await executor.provider(ProviderSpec(provider="closing", model="x"))
        b = await executor.provider(ProviderSpec(provider="closing", model="x"))
        c = await executor.provider(ProviderSpec(provider="closing", model="y"))
        await executor.close()
        return a, b, c

    a, b, c = asyncio.run(main())
    assert a is b and a is not c and sorted(Closing.closed) == sorted({id(a), id(c)})
