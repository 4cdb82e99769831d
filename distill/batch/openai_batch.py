"""OpenAI's Batch API (and compatible servers that serve /v1/files and /v1/batches, such as vLLM).

One batch: the request lines go up as a JSONL file (`POST /files`, purpose `batch`), a batch is created on it
(`POST /batches`, 24 h window, endpoint /v1/chat/completions — or /v1/completions for raw completions, Magpie's
queries: a batch holds one endpoint's requests, and its file's name says which), polled (`GET /batches/{id}`),
and its answers read from the output file and its failures from the error file (`GET /files/{id}/content`).
A poll whose status is missing or unknown is `unknown` (looked at again later), never `failed`: only the status
`failed` fails a batch as a whole. Ids the API sends are put in URLs as one escaped path segment each (`urls.py`).
Limits: 50,000 requests and 200 MB per file (distill keeps a little under, for the multipart wrapper).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn

import orjson

from distill.batch.backend import BatchLimits, BatchNotFound, BatchResult, BatchState, QueueFull, Status
from distill.batch.fields import count, ident, obj, word
from distill.batch.urls import segment, split_credentials
from distill.batch.wire import Client, answered, json_of, read_results, send, unanswered
from distill.errors import RetryableError
from distill.providers.api_key import api_key_for
from distill.providers.base import GenerationParams, Message
from distill.providers.http_errors import error_for_status
from distill.providers.options import OPENAI_URL
from distill.providers.spec import ProviderSpec

RUNNING = {"validating", "in_progress", "finalizing", "cancelling"}
ENDED = {"completed", "expired", "cancelled"}
QUEUE_FULL = "token_limit_exceeded"  # "Enqueued token limit reached for MODEL ... Limit: 2,000,000 enqueued tokens"
CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"
FILE_NAMES = {CHAT: "distill-batch.jsonl", COMPLETIONS: "distill-batch-completions.jsonl"}  # read on a resume
RETRY_CODES = {"batch_expired", "batch_cancelled", "server_error", "rate_limit_exceeded", "internal_error"}


class OpenAIBatchBackend:
    limits = BatchLimits(max_requests=50_000, max_bytes=200 * 1024 * 1024 - 64 * 1024)
    supports_n = True
    supports_raw = True  # /v1/completions, in batches of their own

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec
        self._key = api_key_for(spec)  # type: ignore[arg-type]  # an OpenAISpec: backend_for made it from one
        self._base, basic = split_credentials(spec.base_url or OPENAI_URL)
        self._label = f"batch API of {spec.label()}"
        from distill import __version__
        from distill.providers.options import body_limits

        # the key's bearer token, as immediate calls send it; without a key, the URL's user and password
        auth = f"Bearer {self._key}" if self._key else basic
        headers = {"User-Agent": f"distill/{__version__}", **({"Authorization": auth} if auth else {})}
        self._client = Client(headers, spec.timeout, body_limits(spec))
        self._tried: set[str] = set()  # files a batch creation was attempted on (by this process)

    def encode(self, custom_id: str, messages: list[Message], params: GenerationParams) -> bytes:
        """A chat request, or for a raw completion's prompt (the engine's RAW_ROLE) a /v1/completions one."""
        from distill.engine.teacher import RAW_ROLE

        if len(messages) == 1 and messages[0].get("role") == RAW_ROLE:
            from distill.providers.openai_raw import completion_body

            return orjson.dumps({"custom_id": custom_id, "method": "POST", "url": COMPLETIONS,
                                 "body": completion_body(self.spec, messages[0]["content"], params)})  # type: ignore[arg-type]
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages, **params.wire()}
        for extra in (self.spec.extra_body, params.extra_body):
            if extra:
                body.update(extra)
        return orjson.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body})

    @staticmethod
    def kind(line: bytes) -> str:
        """The endpoint a request line is for: a batch holds requests for one endpoint only."""
        return COMPLETIONS if f'"url":"{COMPLETIONS}"'.encode() in line[:300] else CHAT

    async def upload(self, lines: Sequence[bytes]) -> str | None:
        import aiohttp

        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        name = FILE_NAMES[self.kind(lines[0])] if lines else FILE_NAMES[CHAT]
        form.add_field("file", b"\n".join(lines) + b"\n", filename=name, content_type="application/jsonl")
        return self._id(await self._request("POST", "/files", data=form), "uploading the requests")

    async def _endpoint(self, upload_id: str, lines: Sequence[bytes]) -> str:
        """The endpoint of a batch on `upload_id`: its lines', or, resumed from the file alone, the file's name's."""
        if lines:
            return self.kind(lines[0])
        meta = obj(await self._request("GET", f"/files/{segment(upload_id, 'file id')}", missing=True))
        return COMPLETIONS if meta.get("filename") == FILE_NAMES[COMPLETIONS] else CHAT

    async def create(self, upload_id: str | None, lines: Sequence[bytes]) -> str:
        """A batch on the file `upload_id`. Creating is not idempotent, so when the batch may exist already —
        this is a retry (an earlier attempt may have been made and its answer lost), or a resume after a crash
        between the upload and recording the batch (`lines` empty) — the batch made on that file, if any, is
        looked up first and returned instead of creating a second one."""
        assert upload_id is not None, "OpenAI batches are made from an uploaded file"
        if upload_id in self._tried or not lines:
            found = await self._batch_on(upload_id)
            if found is not None:
                return found
        self._tried.add(upload_id)
        body = {"input_file_id": upload_id, "endpoint": await self._endpoint(upload_id, lines),
                "completion_window": "24h", "metadata": {"made_by": "distill"}}
        # named no batch: tried again, and the batch made on this file is looked up first (`_tried`)
        return self._id(await self._request("POST", "/batches", json=body), "creating a batch")

    async def _batch_on(self, upload_id: str) -> str | None:
        """The id of a batch made on the file `upload_id` among the latest 100, or None. A batch on it that
        failed as a whole (refused for want of room, say) holds no work: it does not count."""
        listed = obj(await self._request("GET", "/batches", params={"limit": "100"}))
        data = listed.get("data")
        return next((str(ident(b)) for b in map(obj, data if isinstance(data, list) else [])
                     if b.get("input_file_id") == upload_id and b.get("status") != "failed" and ident(b)), None)

    def _id(self, answer: Any, what: str) -> str:
        """The id the answer to `what` names; RetryableError when it names none (both steps are safe to retry:
        an upload costs nothing, and a creation looks up the batch already made on its file)."""
        found = ident(answer)
        if found is None:
            raise RetryableError(f"{self._label}: the answer to {what} names no id")
        return found

    async def _batch(self, batch_id: str) -> dict[str, Any]:
        return obj(await self._request("GET", f"/batches/{segment(batch_id, 'batch id')}", missing=True))

    async def poll(self, batch_id: str) -> BatchState:
        data = await self._batch(batch_id)
        status = word(data.get("status"))
        counts = obj(data.get("request_counts"))
        completed, failed = count(counts.get("completed")), count(counts.get("failed"))
        state: Status = ("running" if status in RUNNING else "ended" if status in ENDED else
                         "failed" if status == "failed" else "unknown")
        error, limit = None, None
        if state == "unknown":
            error = f"the status {status!r}" if status else "no status"
        if state == "failed":
            listed = obj(data.get("errors")).get("data")
            errors = [obj(e) for e in (listed if isinstance(listed, list) else [])]
            error = "; ".join(str(e.get("message") or e.get("code")) for e in errors[:3]) or f"status {status!r}"
            if errors and all(e.get("code") == QUEUE_FULL for e in errors):
                state, limit = "refused", queue_limit(error)
        return BatchState(state, done=completed + failed, total=count(counts.get("total")), errored=failed,
                          provider_status=status or "no status", error=error, queue_limit=limit)

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        data = await self._batch(batch_id)
        files = [data.get(field) for field in ("output_file_id", "error_file_id") if data.get(field)]
        counts = obj(data.get("request_counts"))
        reported = count(counts.get("completed")) + count(counts.get("failed"))
        if word(data.get("status")) not in ENDED or (reported and not files):
            # read again later: results not named yet are never taken for "no results" (which sends all again)
            raise RetryableError(f"{self._label}: batch {batch_id} names no results file yet "
                                 f"(status {data.get('status')!r})")
        for file_id in files:
            url = f"{self._base}/files/{segment(file_id, 'results file id')}/content"
            async for result in read_results(self._client, url, self._entry, label=self._label, refuse=self._raise):
                yield result

    def _entry(self, row: dict[str, Any]) -> BatchResult:
        from distill.providers.openai_reply import parse_reply

        custom_id = str(row.get("custom_id"))
        response = row.get("response") or {}
        error = row.get("error")
        status = response.get("status_code")
        if status == 200 and not error:
            body = response.get("body") or {}
            if isinstance(body, dict) and body.get("object") == "text_completion":
                from distill.providers.openai_raw import parse_text_reply

                return answered(custom_id, lambda: parse_text_reply(body, label=self._label))
            return answered(custom_id, lambda: parse_reply(body, label=self._label))
        if isinstance(error, dict) and error:
            code, message = str(error.get("code") or "error"), str(error.get("message") or "")
        else:
            body = response.get("body") or {}
            inner = body.get("error") if isinstance(body, dict) else None
            inner = inner if isinstance(inner, dict) else {}
            code, message = str(inner.get("code") or inner.get("type") or f"http_{status}"), str(
                inner.get("message") or body)
        if code in RETRY_CODES or (isinstance(status, int) and (status == 429 or status >= 500)):
            kind = {"batch_expired": "expired", "batch_cancelled": "canceled"}.get(code, "server_error")
            return unanswered(custom_id, kind, message, retry=True)
        kind = {"context_length_exceeded": "context_length", "error": "invalid_request"}.get(code, code)
        return unanswered(custom_id, kind, message, retry=False)

    async def _request(self, method: str, path: str, *, missing: bool = False, **kwargs: Any) -> Any:
        """One call to the API; RetryableError for what a later attempt may fix, BatchNotFound for a 404 on a
        batch or file when `missing`, QueueFull for a batch refused for want of room, TeacherError for the rest
        (key, URL, refused request)."""
        url = self._base + path
        status, body, retry_after = await send(self._client, method, url, label=self._label, base=self._base,
                                               **kwargs)
        if status >= 300:
            self._raise(status, body, retry_after, url, missing=missing)
        return json_of(body, label=self._label, what=path)

    def _raise(self, status: int, body: bytes, retry_after: str | None, url: str, *, missing: bool = True
               ) -> NoReturn:
        if status == 404 and missing:
            raise BatchNotFound(f"{self._label}: {url.removeprefix(self._base)} not found")
        if QUEUE_FULL.encode() in body:  # a server that refuses at creation, not at validation
            error = _error_of(body)
            if error.get("code") == QUEUE_FULL:
                message = str(error.get("message") or QUEUE_FULL)
                raise QueueFull(message, queue_limit(message))
        raise error_for_status(status, body.decode("utf-8", "replace"), label=self._label, retry_after=retry_after)

    async def close(self) -> None:
        await self._client.close()


def queue_limit(message: str) -> int | None:
    """The queue's size in tokens as a token_limit_exceeded message states it ("Limit: 2,000,000 enqueued")."""
    found = re.search(r"Limit:\s*([\d,]+)\s*enqueued", message)
    return int(found.group(1).replace(",", "")) if found else None


def _error_of(body: bytes) -> dict[str, Any]:
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}
