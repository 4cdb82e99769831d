"""Single flight: identical calls in flight at once are sent once.

Two work items can ask the same question at the same moment (20,000 prompts with duplicates among them: 125 were
paid twice). Each call's cache key names its request exactly, so the first call with a key sends it and the
others with that key wait for it:

    while (hit := cache.get(key)) is None:
        if not await flights.wait(key):       # nothing on its way: this call sends it
            with flights.sending(key):
                ...                            # send, commit the answer to the cache
            break

When the first call ends, each waiter looks again: an answer is then in the cache (a cache hit); a failure the
first call met is raised to the waiters as the same failure (as it would have met them, nothing is cached and the
next run asks again); a first call that was cancelled leaves nothing behind, and one of the waiters sends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class SingleFlight:
    def __init__(self) -> None:
        self._flying: dict[bytes, asyncio.Future[BaseException | None]] = {}

    def __len__(self) -> int:
        return len(self._flying)

    async def wait(self, key: bytes) -> bool:
        """False at once when no call with `key` is on its way. Else wait until it ends and return True (look in
        the cache again), or raise the exception it ended with."""
        flight = self._flying.get(key)
        if flight is None:
            return False
        error = await asyncio.shield(flight)  # a waiter that is cancelled leaves the first call alone
        if error is not None:
            raise error
        return True

    @contextmanager
    def sending(self, key: bytes) -> Iterator[None]:
        """Mark the call with `key` as on its way for the block; on leaving it, wake the calls waiting for it."""
        flight: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._flying[key] = flight
        error: BaseException | None = None
        try:
            yield
        except Exception as exc:  # the call's own failure: the waiters meet it too
            error = exc
            raise
        finally:  # done, failed, or cancelled (None: a waiter sends it itself)
            if self._flying.get(key) is flight:
                del self._flying[key]
            flight.set_result(error)
