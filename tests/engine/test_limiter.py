"""`engine/limiter.py` against a fake clock (no real time passes, nothing is timed): over a simulated minute the
requests admitted stay under the provider's RPM and TPM (no 429s) yet use at least 95% of them, no one-second
window bursts past 1.25x the per-second rate (providers that enforce per-second limits), and tokens reserved
from an estimate are given back when the reply used fewer, so a high estimate does not waste the budget."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from distill.engine import limiter as limiter_module
from distill.engine.limiter import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)  # as a real sleep, never shorter than the clock's grain (1e-17 adds nothing)
        await asyncio.sleep(0)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(limiter_module, "time", clock)
    monkeypatch.setattr(limiter_module, "asyncio", SimpleNamespace(Lock=asyncio.Lock, sleep=clock.sleep))
    return clock


def _admit(clock: FakeClock, limiter: RateLimiter, workers: int, estimate: float, actual: float,
           seconds: float = 60.0) -> list[float]:
    """`workers` callers acquire in a loop until the simulated minute is over; the times requests were let go."""
    admitted: list[float] = []

    async def caller() -> None:
        while True:
            await limiter.acquire(estimate)
            if clock.now >= seconds:
                return
            admitted.append(clock.now)
            limiter.settle(estimate, actual)
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(caller() for _ in range(workers)))

    asyncio.run(main())
    return admitted


def _busiest_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


@pytest.mark.parametrize("workers", [1, 32])
def test_requests_per_minute_are_used_but_never_exceeded(clock, workers):
    admitted = _admit(clock, RateLimiter(600, None), workers, estimate=0, actual=0)
    assert 0.95 * 600 <= len(admitted) <= 600
    assert _busiest_second(admitted) <= 1.25 * 600 / 60


def test_tokens_per_minute_are_used_but_never_exceeded(clock):
    admitted = _admit(clock, RateLimiter(None, 60_000), 8, estimate=500, actual=500)
    tokens = 500 * len(admitted)
    assert 0.95 * 60_000 <= tokens <= 60_000
    assert 500 * _busiest_second(admitted) <= 1.25 * 60_000 / 60 + 500


def test_an_estimate_above_the_real_use_is_given_back(clock):
    """Replies used a quarter of the tokens reserved: the unused part returns to the budget, so about four times
    as many requests fit in the minute as the estimate alone would allow, still within the real TPM."""
    admitted = _admit(clock, RateLimiter(None, 60_000), 8, estimate=2000, actual=500)
    used = 500 * len(admitted)
    assert 0.95 * 60_000 <= used <= 60_000 + 2000
    assert len(admitted) > 2 * 60_000 / 2000


def test_a_reply_that_used_more_than_its_estimate_is_charged(clock):
    admitted = _admit(clock, RateLimiter(None, 60_000), 8, estimate=250, actual=1000)
    assert 1000 * len(admitted) <= 60_000 + 1000  # the overrun is paid back by waiting, not sent as 429s
    assert len(admitted) >= 0.9 * 60_000 / 1000
