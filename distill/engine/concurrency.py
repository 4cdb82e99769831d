"""How many calls one endpoint gets at once: at most `max_concurrency`, fewer while it is timing out.

A server that answers one request at a time (llama-cpp-python's, Ollama's default) queues everything else it is
sent; with 64 in flight the last of them waits 64 answers and passes the client's timeout, is sent again, and the
server, which never learns the first copy was abandoned, computes both. So the limit adapts the way TCP's window
does: a timeout halves it (to half the calls then in flight, never below 1; the calls already under way when it was
cut do not cut it again), and every answer adds 1/limit, so a full window of answers raises it by one, back up to
`max_concurrency`. `lowest` is what the run had to come down to (kept in the manifest's usage).
"""

from __future__ import annotations

import asyncio
from collections import deque


class AdaptiveSlots:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = float(ceiling)
        self.in_flight = 0
        self.lowest = ceiling
        self._epoch = 0  # counts the cuts: a timeout of a call sent before the latest cut is old news
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def room(self) -> int:
        return max(1, int(self.limit)) - self.in_flight

    async def acquire(self) -> int:
        """Wait for a slot, first come first served; the epoch the call is sent in (for `timed_out`)."""
        if self._waiters or self.room <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                while True:
                    await waiter
                    if self.room > 0:
                        break
                    waiter = asyncio.get_running_loop().create_future()  # woken, then the limit fell: queue first
                    self._waiters.appendleft(waiter)
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # it was handed a slot it will not use: pass it on
                raise
        self.in_flight += 1
        return self._epoch

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def answered(self) -> None:
        if self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
            self._wake()

    def timed_out(self, epoch: int) -> bool:
        """A call sent in `epoch` timed out (it still holds its slot): cut the limit unless a cut has come since
        that call was sent. True when this cut the limit."""
        if epoch != self._epoch:
            return False
        self._epoch += 1
        self.limit = max(1.0, min(self.limit, float(self.in_flight)) / 2)
        self.lowest = min(self.lowest, int(self.limit))
        return True

    def _wake(self) -> None:
        free = self.room
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
