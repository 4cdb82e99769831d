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
from distill.batch.results import read_line
from distill.errors import RetryableError, TeacherError
from distill.providers.base import Completion
from distill.providers.bounded_body import BodyError, BodyLimits, LineReader, OversizedLine, ReplyTooLarge
from distill.providers.openai_refusals import _CONTEXT
from distill.providers.redirects import REDIRECT_STATUSES, redirect_refused
from distill.redact import redact_url

Refuse = Callable[[int, bytes, "str | None", str], NoReturn]  # (status, body, retry-after, url): raises


class Client:
    """A backend's HTTP client: opened on first use with the API's headers, closed by `close` (a later request
    opens a new one). It reads within `limits` (`providers/bounded_body.py`: a reply within `limits.body`, a results
    file within `limits.stream`, each of its lines within `limits.body`) and follows no redirect
    (`providers/redirects.py`)."""

    def __init__(self, headers: dict[str, str], timeout: float, limits: BodyLimits | None = None) -> None:
        self._headers = {"Accept-Encoding": "gzip, deflate", **headers}
        self._timeout = timeout
        self.limits = limits or BodyLimits()
        self._session: Any = None

    def session(self) -> Any:
        import aiohttp

        from distill.providers.aiohttp_client import session_limits

        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, trust_env=True,
                                                  timeout=aiohttp.ClientTimeout(total=max(self._timeout, 600)),
                                                  **session_limits(self.limits))
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def send(client: Client, method: str, url: str, *, label: str, base: str, **kwargs: Any
               ) -> tuple[int, bytes, str | None]:
    """(status, body, Retry-After) of one request; RetryableError when it never got an answer (no connection,
    a dropped one, a timeout, a body that cannot be decoded); TeacherError for a redirect (never followed) or a
    reply past the client's limit."""
    import aiohttp

    from distill.providers.aiohttp_client import read_body

    try:
        async with client.session().request(method, url, allow_redirects=False, **kwargs) as resp:
            if resp.status in REDIRECT_STATUSES:
                raise redirect_refused(resp.status, resp.headers.get("Location"), label=label, url=url)
            return resp.status, await read_body(resp, client.limits), resp.headers.get("Retry-After")
    except aiohttp.ClientConnectorError as exc:
        raise RetryableError(f"{label}: cannot connect to {base}: {exc}") from None
    except ReplyTooLarge as exc:
        raise TeacherError(f"{label}: {method} {redact_url(url)}: {exc}") from None
    except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError, BodyError) as exc:
        raise RetryableError(f"{label}: {type(exc).__name__} {exc}") from None


def json_of(body: bytes, *, label: str, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RetryableError(f"{label}: {what} answered something that is not JSON") from None


async def read_results(client: Client, url: str, entry: Callable[[dict[str, Any]], BatchResult], *, label: str,
                       refuse: Refuse) -> AsyncIterator[BatchResult]:
    """Each line of the JSONL results file at `url` read as `entry` reads it, as the file streams in (a file of
    100,000 answers is never held whole), by the results reader (`results.read_line`: a bad line is a failed entry,
    never an exception). A 404 is a download to try again (RetryableError: the batch is not lost, and is never
    sent again for it); any other answer than 200 goes to `refuse`, which raises. A line past the per-reply limit
    rejects the request it names (`reply_too_large`); a file past the results limit, or a redirect, stops with a
    TeacherError."""
    import aiohttp

    from distill.providers.aiohttp_client import read_body

    try:
        async with client.session().get(url, allow_redirects=False) as resp:
            if resp.status in REDIRECT_STATUSES:
                raise redirect_refused(resp.status, resp.headers.get("Location"), label=label, url=url)
            if resp.status == 404:
                raise RetryableError(f"{label}: its results file answered 404 (not found); it is downloaded again "
                                     "later, the batch is not sent again")
            if resp.status != 200:
                refuse(resp.status, await read_body(resp, client.limits), resp.headers.get("Retry-After"), url)
            lines, number = LineReader(resp.headers.get("Content-Encoding", "identity"), client.limits), 0
            async for chunk in resp.content.iter_any():
                for line in lines.feed(chunk):
                    number += 1
                    result = _result(line, number, entry, client.limits)
                    if result is not None:
                        yield result
            for line in lines.finish():
                number += 1
                result = _result(line, number, entry, client.limits)
                if result is not None:
                    yield result
    except ReplyTooLarge as exc:
        raise TeacherError(f"{label}: reading results from {redact_url(url)}: {exc} "
                           "(max_batch_results_bytes, max_reply_bytes)") from None
    except BodyError as exc:
        raise RetryableError(f"{label}: reading results: {exc}") from None
    except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError) as exc:
        raise RetryableError(f"{label}: reading results: {type(exc).__name__} {exc}") from None


def _result(line: bytes | OversizedLine, number: int, entry: Callable[[dict[str, Any]], BatchResult],
            limits: BodyLimits) -> BatchResult | None:
    if isinstance(line, OversizedLine):  # an answer too large to read: its request is rejected, if it says which
        custom_id = line.field("custom_id")
        if custom_id is None:
            return None  # left unanswered: sent again in the next batch
        return custom_id, BatchItemError("reply_too_large", str(ReplyTooLarge(limits.body, b"", "the answer")),
                                         retry=False)
    if not line.strip():
        return None
    return read_line(line, number, entry)


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
