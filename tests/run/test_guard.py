"""`ctx.guard` (run/guard.py), driven directly: a block of several calls ends at the first one that fails, the
item is recorded once (failed, or rejected with the raw reply), the answers received before it stay cached so a
re-run does not ask for them again, and a programming error is never recorded as a failed call."""

from __future__ import annotations

import asyncio

import pytest
from test_run_context import make_ctx, rows

from distill.engine.call_failure import CallFailed, PromptRejected
from distill.errors import RetryableError
from distill.quality.replies import UnreadableReply
from distill.run.context import RunContext
from distill.run.folder import order_key


def _item_with_two_calls(ctx: RunContext, reached: list[str], second_fails: bool):
    async def worker(i: int) -> None:
        with ctx.guard(order_key(i), "two_calls", {"i": i}) as call:
            first = await ctx.teacher.complete([{"role": "user", "content": f"first {i}"}])
            reached.append(f"first {i}")
            if second_fails and i == 1:
                raise CallFailed("teacher", RetryableError("HTTP 503"), 4)
            second = await ctx.teacher.complete([{"role": "user", "content": first.choices[0].text}])
            reached.append(f"second {i}")
        if call.stopped:
            return
        ctx.accept(order_key(i), "two_calls", {"i": i, "output": second.choices[0].text})
    return worker


def test_a_failed_call_ends_the_block_fails_the_item_once_and_keeps_earlier_answers(tmp_path):
    first, reached = make_ctx(tmp_path), []
    asyncio.run(first.map(range(3), _item_with_two_calls(first, reached, second_fails=True)))
    assert sorted(reached) == ["first 0", "first 1", "first 2", "second 0", "second 2"]  # item 1 stopped there
    assert [r["i"] for _, r in rows(first, "data")] == [0, 2]
    assert rows(first, "failed") == [(order_key(1), {"stage": "two_calls", "item": {"i": 1}, "error": "HTTP 503",
                                                      "attempts": 4})]
    assert rows(first, "rejected") == []
    assert first.usage.role("teacher").requests == 5
    first.teacher.cache.close()

    again, reached = make_ctx(tmp_path, run="again"), []
    asyncio.run(again.map(range(3), _item_with_two_calls(again, reached, second_fails=False)))
    assert [r["i"] for _, r in rows(again, "data")] == [0, 1, 2] and rows(again, "failed") == []
    teacher = again.usage.role("teacher")
    assert teacher.requests == 1 and teacher.cache_hits == 5  # only item 1's second call was never answered


def test_an_unreadable_reply_rejects_the_item_with_its_raw_text_or_as_the_recipe_says(tmp_path):
    ctx = make_ctx(tmp_path)
    seen: list[UnreadableReply] = []

    async def main() -> tuple[bool, bool]:
        with ctx.guard(order_key(0), "judge", {"k": 0}) as plain:
            raise UnreadableReply("judge_unparseable", "no score", "Looks great!")
        with ctx.guard(order_key(1), "skill", {"k": 1}, on_unreadable=seen.append) as own:
            raise UnreadableReply("judge_unparseable", "no YES or NO", "Maybe.")
        return plain.stopped, own.stopped

    assert asyncio.run(main()) == (True, True)
    assert rows(ctx, "rejected") == [(order_key(0), {"stage": "judge", "reason": "judge_unparseable",
                                                     "item": {"k": 0}, "raw": "Looks great!", "detail": "no score"})]
    assert [e.raw for e in seen] == ["Maybe."]  # the recipe's own rejection replaces the default one


def test_a_prompt_refused_for_good_is_a_rejection_not_a_failure(tmp_path):
    ctx = make_ctx(tmp_path)
    with ctx.guard(order_key(0), "solve", {"k": 0}) as call:
        raise PromptRejected("teacher", RetryableError("maximum context length is 2048 tokens"))
    assert call.stopped and rows(ctx, "failed") == []
    assert [r["reason"] for _, r in rows(ctx, "rejected")] == ["context_length"]


def test_a_block_that_succeeds_records_nothing_and_a_bug_goes_through(tmp_path):
    ctx = make_ctx(tmp_path)
    with ctx.guard(order_key(0), "s", {}) as call:
        pass
    assert not call.stopped
    with pytest.raises(KeyError), ctx.guard(order_key(1), "s", {}):
        raise KeyError("a bug in the recipe")
    assert rows(ctx, "rejected") == rows(ctx, "failed") == []


def test_check_raises_a_bug_among_gathered_results_before_a_failed_call(tmp_path):
    ctx = make_ctx(tmp_path)
    failed = CallFailed("teacher", RetryableError("HTTP 500"), 3)
    with pytest.raises(ZeroDivisionError), ctx.guard(order_key(0), "answer", {}) as call:
        call.check(["an answer", failed, ZeroDivisionError("in a tagger")])
    assert rows(ctx, "failed") == []  # a bug is not a failed call: the run stops on it
    with ctx.guard(order_key(1), "answer", {"k": 1}) as call:
        call.check(["an answer", failed])
    assert call.stopped and [r["error"] for _, r in rows(ctx, "failed")] == ["HTTP 500"]
