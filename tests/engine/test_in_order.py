"""`engine/in_order.py` driven directly: whatever order the replies arrive in, items pass their turn in index
order (so a dedup index keeps the same first copy of a duplicate every run), and an item that fails inside or
before its turn does not hold the others up."""

from __future__ import annotations

import asyncio
import random

from distill.engine.in_order import InOrder


def _keep_first_copies(replies: list[str], arrival: list[int]) -> list[int]:
    """Items whose (slow, shuffled) replies pass through a dedup set in turn; returns the indexes kept."""
    turns, seen, kept = InOrder(), set(), []
    arrived = {i: asyncio.Event() for i in range(len(replies))}

    async def item(i: int) -> None:
        await arrived[i].wait()  # the teacher's reply for item i
        async with turns.turn(i):
            if replies[i] not in seen:
                seen.add(replies[i])
                kept.append(i)

    async def main() -> None:
        tasks = [asyncio.ensure_future(item(i)) for i in range(len(replies))]  # started in index order
        for i in arrival:
            arrived[i].set()
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)  # (a guard against a hang, not a timing check)

    asyncio.run(main())
    return kept


def test_the_same_first_copies_are_kept_whatever_order_replies_arrive_in():
    replies = ["a", "b", "a", "c", "b", "d", "a", "e"] * 5
    in_order = _keep_first_copies(replies, list(range(len(replies))))
    assert in_order == [0, 1, 3, 5, 7]
    for seed in range(5):
        arrival = list(range(len(replies)))
        random.Random(seed).shuffle(arrival)
        assert _keep_first_copies(replies, arrival) == in_order
    assert _keep_first_copies(replies, list(reversed(range(len(replies))))) == in_order


def test_an_item_that_fails_in_its_turn_or_passes_it_doing_nothing_lets_the_next_ones_through():
    turns, passed = InOrder(), []

    async def item(i: int) -> None:
        await asyncio.sleep(0)
        if i == 1:  # a failed call: the item passes its turn and does nothing
            async with turns.turn(i):
                return
        async with turns.turn(i):
            if i == 2:
                raise ValueError("unparseable")
            passed.append(i)

    async def main() -> list:
        tasks = [asyncio.ensure_future(item(i)) for i in range(5)]
        return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)

    results = asyncio.run(main())
    assert passed == [0, 3, 4]
    assert isinstance(results[2], ValueError)  # the error still reaches whoever awaits the item
