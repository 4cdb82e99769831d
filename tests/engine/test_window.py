"""`engine/window.py` driven directly: never more than `width` items in flight, the input read lazily (a
million-row file never becomes a million tasks), every item run exactly once, items the cache finishes take no
slot, and an exception escaping a worker stops the run: nothing new starts, what is in flight is cancelled,
and the error reaches the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from distill.engine.window import sliding_window


def test_at_most_width_in_flight_every_item_once_and_the_input_read_lazily():
    pulled, running, most, done = [0], [0], [0], []
    ahead: list[int] = []  # how far the reader was ahead of the finished items when each item started

    def rows() -> Iterator[int]:
        for i in range(200):
            pulled[0] += 1
            yield i

    async def worker(i: int) -> None:
        running[0] += 1
        most[0] = max(most[0], running[0])
        ahead.append(pulled[0] - len(done))
        for _ in range(10 + i % 5):  # items finish out of order
            await asyncio.sleep(0)
        running[0] -= 1
        done.append(i)

    asyncio.run(sliding_window(rows(), worker, width=8))
    assert sorted(done) == list(range(200))
    assert most[0] == 8  # the window is kept full, and never over
    assert max(ahead) <= 8 + 1  # rows read ahead of the finished ones: those in flight and one waiting for a slot


def test_items_the_cache_finishes_take_no_slot_and_never_reach_the_worker():
    started: list[int] = []
    gate = asyncio.Event()

    async def worker(i: int) -> None:
        started.append(i)
        await gate.wait()  # slow items hold their slots

    async def main() -> None:
        fast_done: list[int] = []

        def fast(i: int) -> bool:
            if i % 2:
                fast_done.append(i)
                return True
            return False

        run = asyncio.ensure_future(sliding_window(range(10), worker, width=2, fast=fast))
        for _ in range(5):
            await asyncio.sleep(0)
        assert started == [0, 2] and fast_done == [1, 3]  # both slots taken by slow items; cached 1 and 3 done
        gate.set()
        await run
        assert started == [0, 2, 4, 6, 8] and fast_done == [1, 3, 5, 7, 9]

    asyncio.run(main())


def test_an_escaping_error_cancels_what_is_in_flight_starts_nothing_new_and_is_raised():
    started: list[int] = []
    cancelled: list[int] = []

    async def worker(i: int) -> None:
        started.append(i)
        if i == 3:
            raise PermissionError("401: wrong API key")
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            cancelled.append(i)
            raise

    with pytest.raises(PermissionError, match="wrong API key"):
        asyncio.run(sliding_window(range(100), worker, width=4))
    assert started == [0, 1, 2, 3]
    assert sorted(cancelled) == [0, 1, 2]
