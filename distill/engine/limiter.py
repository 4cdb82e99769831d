"""Requests-per-minute and tokens-per-minute limits as smooth token buckets.

Each bucket refills continuously at 97% of the set rate and holds at most a quarter second of budget, so no
one-second window sees more than ~1.25x the per-second rate (providers such as Together enforce per-second rates;
a minute-sized bucket would burst into 429s). Tokens are reserved from an estimate before a call and the difference
is settled from the reply's real usage afterwards.
"""

from __future__ import annotations

import asyncio
import time

HEADROOM = 0.97  # aim 3% under the limit, so event-loop jitter never tips a 1-second window over it


class Bucket:
    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0 * HEADROOM
        self.capacity = max(1.0, self.rate * 0.25)
        self.level = min(self.capacity, 1.0)  # start almost empty: no burst at launch
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` can be taken (a request larger than the bucket waits for a full bucket)."""
        self._refill()
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        self.level -= amount

    def settle(self, delta: float) -> None:
        """Give back (delta > 0) or charge (delta < 0) the difference between estimate and real use."""
        self._refill()
        self.level = min(self.capacity, self.level + delta)


class RateLimiter:
    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        self.requests = Bucket(requests_per_minute) if requests_per_minute else None
        self.tokens = Bucket(tokens_per_minute) if tokens_per_minute else None
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: float) -> None:
        """Wait, first come first served, until one request of about `tokens` tokens fits both budgets."""
        async with self._lock:
            while True:
                wait = max(self.requests.wait_for(1) if self.requests else 0.0,
                           self.tokens.wait_for(tokens) if self.tokens else 0.0)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if self.requests:
                self.requests.take(1)
            if self.tokens:
                self.tokens.take(tokens)

    def settle(self, estimated: float, actual: float) -> None:
        if self.tokens:
            self.tokens.settle(estimated - actual)
