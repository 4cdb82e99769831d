"""What the batch backends do alike on the wire: one HTTP request with its failures sorted, a results file read
line by line as it streams in (by the results reader, `results.py`), and a result line's outcome — an answer or a
`BatchItemError` — told apart.

    status, body, retry_after = await send(client, "GET", url, label=..., base=...)
    async for result in read_results(client, url, entry, label=..., refuse=...): ...

A backend keeps only what is its API's own: its paths, headers, and how one result line names its outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn

import orjson

from distill.batch.backend import BatchItemError, BatchResult
from distill.batch.results import read_lines
from distill.errors import RetryableError
from distill.providers.base import Completion
from distill.providers.openai_refusals import _CONTEXT

Refuse = Callable[[int, bytes, "str | None", str], NoReturn]  # (status, body, retry-after, url): raises


class Client:
    """A backend's HTTP client: opened on first use with the API's headers, closed by `close` (a later request
    opens a new one)."""

    def __init__(self, headers: dict[str, str], timeout: float) -> None:
        self._headers, self._timeout = headers, timeout
        self._session: Any = None

    def session(self) -> Any:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, trust_env=True,
                                                  timeout=aiohttp.ClientTimeout(total=max(self._timeout, 600)))
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def send(client: Client, method: str, url: str, *, label: str, base: str, **kwargs: Any
               ) -> tuple[int, bytes, str | None]:
    """(status, body, Retry-After) of one request; RetryableError when it never got an answer (no connection,
    a dropped one, a timeout)."""
    import aiohttp

    try:
        async with client.session().request(method, url, **kwargs) as resp:
            return resp.status, await resp.read(), resp.headers.get("Retry-After")
    except aiohttp.ClientConnectorError as exc:
        raise RetryableError(f"{label}: cannot connect to {base}: {exc}") from None
    except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError) as exc:
        raise RetryableError(f"{label}: {type(exc).__name__} {exc}") from None


def json_of(body: bytes, *, label: str, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RetryableError(f"{label}: {what} answered something that is not JSON") from None


async def read_results(client: Client, url: str, entry: Callable[[dict[str, Any]], BatchResult], *, label: str,
                       refuse: Refuse) -> AsyncIterator[BatchResult]:
    """Each line of the JSONL results file at `url` read as `entry` reads it, as the file streams in, by the
    results reader (`results.read_lines`: a bad line is a failed entry, never an exception). A 404 is a download
    to try again (RetryableError: the batch is not lost, and is never sent again for it); any other answer than
    200 goes to `refuse`, which raises."""
    import aiohttp

    try:
        async with client.session().get(url) as resp:
            if resp.status == 404:
                raise RetryableError(f"{label}: its results file answered 404 (not found); it is downloaded again "
                                     "later, the batch is not sent again")
            if resp.status != 200:
                refuse(resp.status, await resp.read(), resp.headers.get("Retry-After"), url)
            async for result in read_lines(resp.content.iter_chunked(1 << 20), entry):
                yield result
    except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError) as exc:
        raise RetryableError(f"{label}: reading results: {type(exc).__name__} {exc}") from None


def answered(custom_id: str, parse: Callable[[], Completion]) -> BatchResult:
    """A line that holds an answer; one that cannot be read as one (empty, cut off) is sent again."""
    try:
        return custom_id, parse()
    except RetryableError as exc:
        return custom_id, BatchItemError("server_error", str(exc), retry=True)


def unanswered(custom_id: str, kind: str, message: str, *, retry: bool) -> BatchResult:
    """A line without an answer: sent again when `retry`; else the request is at fault, and a prompt too long
    for the model (said in any API's words) rejects its item as `context_length`."""
    if not retry and _CONTEXT.search(message):
        kind = "context_length"
    return custom_id, BatchItemError(kind, message, retry=retry)
