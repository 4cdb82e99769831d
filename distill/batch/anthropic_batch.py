"""Anthropic's Message Batches API: many Messages requests as one deferred job at half the price.

No upload step: `create` posts the request lines themselves (`POST /v1/messages/batches`, `{"requests":
[{"custom_id", "params"}, ...]}`), each `params` being exactly the body an immediate call sends
(`providers/anthropic_wire.py`). `poll` reads `GET /v1/messages/batches/{id}` (`processing_status` in_progress /
canceling / ended, `request_counts`); once ended, `results` streams the JSONL at the batch's `results_url`, one
line per request: succeeded (a Message), errored (an API error: a server-side one goes into the next batch, an
invalid request fails its call, "prompt is too long" rejects its item), canceled or expired (both go into the
next batch). Limits: 100,000 requests and 256 MB per batch (distill keeps 64 KB under, for the wrapper). Results
are kept 29 days; a batch past that answers 404, which the dispatcher treats as lost and sends again (a 404 on
the results alone is a download to try again). A `processing_status` that is missing or unknown is `unknown`
(looked at again later): the API has no status for a batch that failed as a whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn

import orjson

from distill.batch.backend import BatchLimits, BatchNotFound, BatchResult, BatchState, Status
from distill.batch.fields import count, ident, obj, word
from distill.batch.urls import segment, split_credentials
from distill.batch.wire import Client, answered, json_of, read_results, send, unanswered
from distill.errors import RetryableError, TeacherError
from distill.providers.anthropic import api_key_for, headers_for
from distill.providers.anthropic_wire import ANTHROPIC_URL, error_for, error_type, parse_message, request_body
from distill.providers.base import GenerationParams, Message
from distill.providers.options import AnthropicSpec
from distill.redact import redact_url

RUNNING = {"in_progress", "canceling"}
RETRY_TYPES = {"api_error", "overloaded_error", "rate_limit_error", "timeout_error"}


class AnthropicBatchBackend:
    limits = BatchLimits(max_requests=100_000, max_bytes=256 * 1024 * 1024 - 64 * 1024)
    supports_n = False  # a Messages request has one sample: the dispatcher sends n requests
    supports_raw = False  # no raw completions at Anthropic: the provider says so (chat only) when one is asked

    def __init__(self, spec: AnthropicSpec) -> None:
        self.spec = spec
        self._key = api_key_for(spec)
        self._base, basic = split_credentials(spec.base_url or ANTHROPIC_URL)
        self._label = f"batch API of {spec.label()}"
        headers = {**headers_for(spec, self._key), "Content-Type": "application/json"}
        if basic:  # the URL's user and password, next to the x-api-key header
            headers["Authorization"] = basic
        self._client = Client(headers, spec.timeout, spec.body_limits())

    def encode(self, custom_id: str, messages: list[Message], params: GenerationParams) -> bytes:
        return orjson.dumps({"custom_id": custom_id, "params": request_body(self.spec, messages, params)})

    async def upload(self, lines: Sequence[bytes]) -> str | None:
        return None  # the requests travel inside `create`

    async def create(self, upload_id: str | None, lines: Sequence[bytes]) -> str:
        body = b'{"requests":[' + b",".join(lines) + b"]}"
        batch = ident(await self._request("POST", self._base + "/v1/messages/batches", data=body))
        if batch is None:  # made, perhaps, but not to be found again: making it again could pay twice
            raise TeacherError(f"{self._label}: the answer to creating a batch of {len(lines)} requests names no "
                               "batch id, so distill cannot follow it; a batch may have been made (see the "
                               "Console's batch list). Stopping rather than making another")
        return batch

    async def _batch(self, batch_id: str) -> dict[str, Any]:
        url = f"{self._base}/v1/messages/batches/{segment(batch_id, 'batch id')}"
        return obj(await self._request("GET", url, missing=True))

    async def poll(self, batch_id: str) -> BatchState:
        data = await self._batch(batch_id)
        status = word(data.get("processing_status"))
        counts = {k: count(v) for k, v in obj(data.get("request_counts")).items()}
        unanswered = counts.get("errored", 0) + counts.get("canceled", 0) + counts.get("expired", 0)
        done = counts.get("succeeded", 0) + unanswered
        state: Status = "running" if status in RUNNING else "ended" if status == "ended" else "unknown"
        return BatchState(state, done=done, total=done + counts.get("processing", 0), errored=unanswered,
                          provider_status=status or "no status",
                          error=None if state != "unknown" else f"the status {status!r}" if status else "no status")

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        data = await self._batch(batch_id)
        url = data.get("results_url")
        if not isinstance(url, str) or not url:
            raise RetryableError(f"{self._label}: batch {batch_id} has no results_url yet")
        if _origin(url) != _origin(self._base):  # the key goes with the request: only to the API's own host
            raise TeacherError(f"{self._label}: batch {batch_id} names its results at another host "
                               f"({redact_url(url)}); not following it with the API key")
        async for result in read_results(self._client, url, self._entry, label=self._label, refuse=self._raise):
            yield result

    def _entry(self, row: dict[str, Any]) -> BatchResult:
        custom_id = str(row.get("custom_id"))
        result = row.get("result") or {}
        kind = result.get("type")
        if kind == "succeeded":
            return answered(custom_id, lambda: parse_message(result.get("message") or {}, label=self._label))
        if kind in ("expired", "canceled"):
            return unanswered(custom_id, kind, f"the request was {kind} before it was processed", retry=True)
        error, message = error_type(result.get("error") or {})
        if error in RETRY_TYPES:
            return unanswered(custom_id, "server_error", f"{error}: {message}", retry=True)
        return unanswered(custom_id, "invalid_request" if error == "invalid_request_error" else error, message,
                          retry=False)

    async def _request(self, method: str, url: str, *, missing: bool = False, data: bytes | None = None) -> Any:
        """One call; RetryableError for what a later attempt may fix, BatchNotFound for a 404 on a batch when
        `missing`, TeacherError for the rest (key, model, a refused request)."""
        status, body, retry_after = await send(self._client, method, url, label=self._label, base=self._base,
                                               data=data)
        if status >= 300:
            self._raise(status, body, retry_after, url, missing=missing)
        return json_of(body, label=self._label, what=f"{method} {url}")

    def _raise(self, status: int, body: bytes, retry_after: str | None, url: str, *, missing: bool = True
               ) -> NoReturn:
        if status == 404 and missing:
            raise BatchNotFound(f"{self._label}: {redact_url(url)} not found")
        raise error_for(status, body.decode("utf-8", "replace"), {}, label=self._label, key_env=self.spec.api_key_env,
                        retry_after=retry_after)

    async def close(self) -> None:
        await self._client.close()


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
