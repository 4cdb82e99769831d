"""When and how long to wait before trying a failed teacher call again.

Only `RetryableError` is retried (429, 5xx, timeouts, dropped connections, unreadable 200 replies). The wait is
the server's Retry-After when it sent one, otherwise exponential backoff with full jitter capped at 30 s. Each
call waits on its own: a 429 slows the call that got it, never the whole run.
"""

from __future__ import annotations

from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from distill.errors import RetryableError

_backoff = wait_random_exponential(multiplier=0.5, max=30.0)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetryableError) and exc.retry_after is not None:
        return min(exc.retry_after, 120.0)
    return float(_backoff(state))


def retrying(max_retries: int, on_retry: Any) -> AsyncRetrying:
    """A tenacity controller: `max_retries` retries after the first attempt; `on_retry(exc)` counts each."""

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
