"""The protocol a provider's batch API implements, and the small types it speaks in.

A batch backend turns many chat requests into one deferred job and reads the answers back. The dispatcher owns
everything around it (queueing, splitting at `limits`, recording what was submitted in `cache.sqlite`, polling
with backoff, retrying entries); a backend only translates to one API's wire format. Two shapes fit:

- OpenAI and compatible servers (vLLM serves /v1/batches too): `upload` posts a JSONL file and returns its id,
  `create` starts a batch on that file;
- Anthropic Message Batches: no upload step (`upload` returns None), `create` posts the requests themselves.

Contract, per method (the dispatcher relies on every word):

- `encode(custom_id, messages, params)` is pure: the same arguments give the same bytes. It returns ONE request
  line without its trailing newline; the dispatcher joins lines with b"\\n" and splits groups with `split`, so
  `limits.max_bytes` must already leave room for any wrapper the API puts around the lines.
- `upload(lines)` is not idempotent (each call stores a new file) but costs nothing: an upload whose id was
  never recorded is merely an orphaned file. It returns once the provider has acknowledged the file.
- `create(upload_id, lines)` starts billable work and is NOT idempotent: it is called at most once per group of
  lines, and the returned batch id is committed to `cache.sqlite` before anything else happens. Without an
  upload step (`upload_id` None) `lines` are the requests to send. With one, the batch must be made from the
  file alone: after a crash between the upload and the creation, the dispatcher creates the batch from the
  recorded file id with `lines` empty (the file is never uploaded twice).
- `poll(batch_id)` and `results(batch_id)` are read-only and idempotent: after a crash the same batch is polled
  and its results read again. `results` is called once `poll` said `ended`; it yields one entry per request the
  provider reports on, in any order; a request it does not mention is treated as `BatchItemError(retry=True)`.
  It reads the results file with the results reader (`results.py`): it never raises for what the file holds (a
  line it cannot read is an `unreadable` entry that goes again), and a results file that answers 404 is a
  RetryableError (downloaded again), never `BatchNotFound`. A poll answer it cannot place (no status, a status it
  does not know, not an object) is `unknown`, never `failed`.
- Errors: `RetryableError` (429, 5xx, timeouts, dropped connections) is retried by the dispatcher with backoff;
  `BatchNotFound` means the batch (or its results) is gone for good — deleted, past retention, or invisible to
  the current API key — and its requests are submitted again; `QueueFull` from `create` (or a `refused` state
  from `poll`) means the provider has no room for the batch now: too much work of the account is queued
  (`room.py` waits for room, then creates it again from the same file); `TeacherError` stops the run (bad key,
  bad model).

A backend is made from the teacher's `ProviderSpec` (`backend_for(spec)`): its provider's class names the backend
(`Provider.batch_backend`), a name in `BACKENDS` or in the `distill.batch_backends` entry-point group (the same
generic registry as recipes and providers). It holds its own HTTP client and gives it back in `close()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

from distill.errors import InputError
from distill.plugins import PluginError, Registry
from distill.providers.registry import no_backend_message, provider_class

if TYPE_CHECKING:
    from distill.providers.base import Completion, GenerationParams, Message
    from distill.providers.spec import ProviderSpec


class BatchNotFound(Exception):
    """The provider does not know this batch (or its result file) any more: deleted, expired from retention, or
    created under another API key. Its requests were never answered as far as this run can tell."""


class QueueFull(Exception):
    """The provider refused to take a batch because the account already has as much work queued as it may
    (OpenAI's `token_limit_exceeded`: too many tokens enqueued for the model). The batch holds no work; the same
    requests may be made a batch again once room is made. `limit` is the queue's size in tokens when the
    provider said it."""

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True)
class BatchLimits:
    """How much one batch may hold: requests, and bytes of joined request lines (wrapper overhead excluded)."""

    max_requests: int
    max_bytes: int


Status = Literal["running", "ended", "failed", "refused", "unknown"]


@dataclass(frozen=True)
class BatchState:
    """A batch's progress, normalised across providers.

    `status`: `running` (validating, queued, in progress, finalizing, cancelling — wait and poll again),
    `ended` (results can be read: completed, expired or cancelled, some entries possibly errored), `failed`
    (the batch as a whole was refused and has no results, `error` says why), or `refused` (failed only for want
    of room in the account's queue, as `QueueFull` says; `queue_limit` is the queue's size in tokens when the
    provider said it), or `unknown` (the answer has no status, or one the backend does not know: treated as
    `running`, looked at again later, since a batch taken for failed would be paid for again; `error` says what
    the answer said). `done` counts requests the provider has finished (answered or errored) out of `total`;
    `errored` those that ended without an answer. `provider_status` is the API's own word, for `distill status`.
    """

    status: Status
    done: int = 0
    total: int = 0
    errored: int = 0
    provider_status: str = ""
    error: str | None = None
    queue_limit: int | None = None


@dataclass(frozen=True)
class BatchItemError:
    """One request of a batch that ended without an answer.

    `retry` True: the request was not answered for a reason the next batch may not meet (expired in the 24 h
    window, cancelled, a server error, a rate limit) — it goes into the next batch. False: the request itself is
    wrong (invalid, refused) and the call fails like an immediate call whose retries ran out. `kind` is a short
    reason: "expired", "canceled", "server_error", "invalid_request", "context_length" (the prompt is too long
    for the model: the item is rejected, as with an immediate call), or the API's own error type."""

    kind: str
    message: str
    retry: bool


BatchResult = tuple[str, "Completion | BatchItemError"]
K = TypeVar("K")  # what names a request line: its custom_id, or the call's key


@runtime_checkable
class BatchBackend(Protocol):
    limits: BatchLimits
    supports_n: bool  # False: the dispatcher sends n single-sample requests instead of one with `n`
    supports_raw: bool  # True: `encode` takes a raw completion's prompt too (the engine's RAW_ROLE message)

    def encode(self, custom_id: str, messages: list[Message], params: GenerationParams) -> bytes: ...
    # optional: `kind(line) -> str`, when a batch may hold one kind of request only (OpenAI: one endpoint)

    async def upload(self, lines: Sequence[bytes]) -> str | None: ...

    async def create(self, upload_id: str | None, lines: Sequence[bytes]) -> str: ...

    async def poll(self, batch_id: str) -> BatchState: ...

    def results(self, batch_id: str) -> AsyncIterator[BatchResult]: ...

    async def close(self) -> None: ...


def split(lines: Iterable[tuple[K, bytes]], limits: BatchLimits) -> list[list[tuple[K, bytes]]]:
    """Group (custom_id, line) pairs in order into batches within `limits` (a line costs its bytes plus one for
    its newline). A line larger than `max_bytes` on its own can never be sent: ValueError names it."""
    groups: list[list[tuple[K, bytes]]] = []
    current: list[tuple[K, bytes]] = []
    size = 0
    for custom_id, line in lines:
        cost = len(line) + 1
        if cost > limits.max_bytes:
            raise ValueError(f"request {custom_id} is {cost} bytes, more than a batch may hold ({limits.max_bytes})")
        if current and (len(current) >= limits.max_requests or size + cost > limits.max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append((custom_id, line))
        size += cost
    if current:
        groups.append(current)
    return groups


BACKENDS: dict[str, str] = {  # batch backend name -> `module:class` (imported when a run uses it)
    "openai": "distill.batch.openai_batch:OpenAIBatchBackend",
    "anthropic": "distill.batch.anthropic_batch:AnthropicBatchBackend",
}
REGISTRY = Registry("batch backend", "distill.batch_backends", BACKENDS)


def backend_for(spec: ProviderSpec) -> BatchBackend:
    """The batch backend the spec's provider declares; InputError (exit 2) when it declares none or the one it
    names cannot be loaded."""
    name = getattr(provider_class(spec.provider), "batch_backend", None)
    if not name:
        raise InputError(no_backend_message(spec.provider))
    try:
        cls = REGISTRY.load(name)
    except KeyError:
        raise InputError(f"provider {spec.provider!r} names the batch backend {name!r}, which is not registered "
                         f"(known: {', '.join(REGISTRY.names())})") from None
    except PluginError as exc:
        raise InputError(str(exc)) from None
    return cls(spec)  # type: ignore[no-any-return]
