"""When and how long to wait before trying a failed teacher call again.

Only `RetryableError` is retried (429, 5xx, timeouts, dropped connections, unreadable 200 replies). The wait is
the server's Retry-After when it sent one, otherwise backoff with full jitter: U(0, 0.5 s * 2^(attempt-1)),
capped at 30 s. Each call waits on its own: a 429 slows the call that got it, never the whole run.

The backoff grows exponentially only while the endpoint is in trouble: when at most a third of the recent
attempts to it failed (`FailureRate`), a failure is the call's bad luck rather than an overloaded server, and its
wait stays at most 1 s however often that one call has failed. Without this, a few unlucky calls that fail four
or five times in a row wait 8-16 s each and set the length of the whole run (`bench/faults.py`).
"""

from __future__ import annotations

import random
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from distill.errors import RetryableError

BASE, CAP, TROUBLE = 0.5, 30.0, 1 / 3


class FailureRate:
    """The share of recent attempts to one endpoint that failed, weighted over roughly the last 100."""

    def __init__(self) -> None:
        self.value = 0.0

    def record(self, failed: bool) -> None:
        self.value += ((1.0 if failed else 0.0) - self.value) * 0.01


def backoff(attempt: int, failure_rate: float) -> float:
    """Seconds to wait after the `attempt`-th failed attempt of one call."""
    if failure_rate <= TROUBLE:
        attempt = min(attempt, 2)
    return random.uniform(0.0, min(CAP, BASE * 2 ** (attempt - 1)))


def retrying(max_retries: int, on_retry: Any, failures: FailureRate) -> AsyncRetrying:
    """A tenacity controller: `max_retries` retries after the first attempt; `on_retry(exc)` counts each."""

    def _wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, 120.0)
        return backoff(state.attempt_number, failures.value)

    def before_sleep(state: RetryCallState) -> None:
        if state.outcome is not None:
            on_retry(state.outcome.exception())

    return AsyncRetrying(retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(max_retries + 1),
                         wait=_wait, before_sleep=before_sleep, reraise=True)


def reason_of(exc: BaseException | None) -> str:
    """A short bucket name for the manifest's retry counts."""
    if isinstance(exc, RetryableError):
        if exc.status is not None:
            return f"http_{exc.status}"
        text = str(exc)
        for word in ("timeout", "not a chat completion", "dropped", "connection"):
            if word in text:
                return word.replace(" ", "_")
    return type(exc).__name__ if exc else "unknown"
