"""A turnstile for work items that share state whose result depends on order (a dedup index, a novelty pool):
item i passes only after items 0 .. i-1 have, whatever order their teacher replies arrived in, so the same
config and seed always keep the same first copy of a duplicate.

Every index must pass exactly once (an item that failed passes too, doing nothing), and the items must be
started in index order, as `RunContext.map`'s sliding window does, so that no item waits on one never started.
Only the short order-dependent step belongs inside a turn; teacher calls go before or after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InOrder:
    def __init__(self) -> None:
        self._next = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}

    @asynccontextmanager
    async def turn(self, index: int) -> AsyncIterator[None]:
        if index != self._next:
            wake = asyncio.get_running_loop().create_future()
            self._waiting[index] = wake
            await wake
        try:
            yield
        finally:
            self._next = index + 1
            if self._next in self._waiting:
                wake = self._waiting.pop(self._next)
                if not wake.done():
                    wake.set_result(None)
