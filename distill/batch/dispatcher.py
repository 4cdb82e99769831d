"""The dispatcher: the calls a Teacher makes in batch mode, gathered into batches and answered from them.

    completion = await dispatcher.call(key, encode)   # waits until the batch holding it has ended

A call's request line is queued; when no new call came for `gather_seconds` (or the queue fills a batch) the
queue is split at the provider's limits and each part is uploaded and made a batch. What went into which file
and batch is committed to `cache.sqlite` (`store.py`) the moment the provider acknowledges it. Each batch is
polled with a growing wait; when it ends, every answer is committed to the cache under the call's own key
(exactly like an immediate answer, accounted at the batch price), then the waiting calls are resolved. An entry
that expired, was cancelled or met a server error goes into the next batch (up to `max_attempts` batches); one
refused for its content fails its call like an immediate call whose retries ran out. A results file is read by
the results reader (`results.py`): every valid line is committed, a line that cannot be read is said and its
request goes into the next batch. A poll the backend cannot place (`unknown`: no status, a new status word) is
said once and looked at again later; only the provider's own `failed` fails a batch as a whole.

A run that stops while batches are out (Ctrl+C, a crash, SIGKILL) leaves their requests recorded; the next run
of the same command polls and collects those batches instead of sending the requests again. A batch the
provider no longer knows (deleted, past retention, a rotated key from another project) is said so, and its
requests go into a new batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from itertools import groupby
from typing import Any

from distill.batch.backend import BatchBackend, BatchItemError, BatchLimits, BatchNotFound, QueueFull, split
from distill.batch.results import UNREADABLE
from distill.batch.room import Room
from distill.batch.store import BatchStore
from distill.engine.cache import CallCache
from distill.engine.call_failure import REJECTING, CallFailed, PromptRejected
from distill.engine.prices import cost
from distill.engine.usage import RoleUsage
from distill.errors import DistillError, RetryableError, TeacherError
from distill.providers.base import Completion
from distill.providers.batch_options import BatchOptions
from distill.providers.spec import Price, ProviderSpec

RETRIES = 6  # attempts of one upload, creation, poll or download before the calls waiting on it fail
WINDOW = 100_000  # calls worth having waiting at once: several batches in flight, memory in the hundreds of MB


class Dispatcher:
    def __init__(self, backend: BatchBackend, cache: CallCache, usage: RoleUsage, *, role: str, identity: bytes,
                 label: str, options: BatchOptions, price: Price | None) -> None:
        self.backend, self.cache, self.usage, self.role = backend, cache, usage, role
        self.identity, self.label, self.options, self.price = identity, label, options, price
        self.store = BatchStore(cache.db)
        self.room = Room()  # a batch refused for want of room in the provider's queue waits here
        cap = backend.limits.max_requests
        self.limits = BatchLimits(min(cap, options.max_requests or cap), backend.limits.max_bytes)
        self.window = max(WINDOW, 2 * self.limits.max_requests)  # work items the executor lets wait on calls
        self._queue: dict[bytes, bytes] = {}       # key -> request line, waiting to be sent
        self._queued_bytes = 0
        self._lines: dict[bytes, bytes] = {}       # request lines of the calls waiting here
        self._waiters: dict[bytes, list[asyncio.Future[Completion]]] = {}
        self._submitted: set[bytes] = set()        # in the provider's hands (or on their way)
        self._attempts: dict[bytes, int] = {}      # batches each request has been in, this run and earlier
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._last = 0.0
        self._resumed = False
        self._said_stop = False
        self._alive = 0      # batch tasks not finished
        self._stopped = False

    # --- calls ----------------------------------------------------------------------------------------------
    async def call(self, key: bytes, encode: Callable[[str], bytes]) -> Completion:
        """The answer to the request `encode(custom_id)` stands for, `key` being its cache key. Raises
        CallFailed (PromptRejected for a prompt too long) when it cannot be had, TeacherError to stop the run."""
        if self._stopped:  # the run is stopping: no new batch
            raise asyncio.CancelledError
        if not self._resumed:
            self._resume()
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        if key not in self._lines:
            self._lines[key] = encode(key.hex())
        if key not in self._submitted and key not in self._queue:
            self._enqueue(key)
        return await future

    def _enqueue(self, key: bytes) -> None:
        line = self._lines[key]
        if len(line) + 1 > self.limits.max_bytes:
            self._fail([key], TeacherError(f"{self.label}: a request of {len(line)} bytes is larger than a batch "
                                           f"may hold ({self.limits.max_bytes})"))
            return
        if self._queued_bytes + len(line) + 1 > self.limits.max_bytes:
            self._flush()
        self._queue[key] = line
        self._queued_bytes += len(line) + 1
        self._last = asyncio.get_running_loop().time()
        if len(self._queue) >= self.limits.max_requests:
            self._flush()
        elif self._flusher is None:
            self._flusher = asyncio.ensure_future(self._gather())

    async def _gather(self) -> None:
        """Send the queue once no new call came for `gather_seconds`."""
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                wait = self._last + self.options.gather_seconds - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    self._flush()
        finally:
            self._flusher = None

    def _flush(self) -> None:
        items, self._queue, self._queued_bytes = list(self._queue.items()), {}, 0
        for group in (group for part in self._parts(items) for group in split(part, self.limits)):
            keys = {key: self._attempts.get(key, 0) + 1 for key, _ in group}
            self._submitted.update(keys)
            self._attempts.update(keys)
            self._spawn(self._submit(keys, [line for _, line in group]), keys)

    def _parts(self, items: list[tuple[bytes, bytes]]) -> list[list[tuple[bytes, bytes]]]:
        """The queue in parts that may each be batches: one per kind of request where a batch holds one kind only
        (OpenAI: one endpoint), cut to fit the provider's queue once its size is known."""
        kind = getattr(self.backend, "kind", None)
        kinds = [items]
        if kind is not None:
            items.sort(key=lambda item: kind(item[1]))  # stable: each kind's requests keep their order
            kinds = [list(part) for _, part in groupby(items, key=lambda item: kind(item[1]))]
        return [part for same in kinds for part in self.room.cut(same)]

    # --- one batch's life -----------------------------------------------------------------------------------
    async def _submit(self, keys: dict[bytes, int], lines: list[bytes]) -> None:
        upload = await self._patiently("upload", lambda: self.backend.upload(lines), keys)
        if upload is not None:
            self.store.uploaded(self.identity, self.role, upload, keys)
        await self._create(upload, lines, keys)

    async def _create(self, upload: str | None, lines: list[bytes], keys: dict[bytes, int],
                      batch: str | None = None) -> None:
        """Make the batch of `keys` (unless `batch` is made already) and follow it to its end. While the
        provider refuses it for want of room in its queue, wait for room (`room.py`) and make it again from
        the same file."""
        backoff = self.options.poll_seconds
        while True:
            try:
                if batch is None:
                    batch = await self._patiently("create", lambda: self.backend.create(upload, lines), keys)
                    self.store.created(batch, self.identity, self.role, self.label, upload, keys)
                    self.usage.requests += len(keys)
                    note(f"{self.label} ({self.role}): batch {batch} submitted with {len(keys)} requests; answers "
                         "within the provider's window (up to 24 h). Stopping now is safe: the same command "
                         "collects it.")
                refused = await self._watch(batch, set(keys))
            except QueueFull as exc:
                refused = exc
            if refused is None:
                return
            if batch is not None:
                self.usage.requests -= len(keys)  # the provider took none of them
            if not await self._wait_for_room(batch, upload, lines, keys, refused, backoff):
                return
            batch, backoff = None, min(backoff * 2, self.options.max_poll_seconds)

    async def _wait_for_room(self, batch: str | None, upload: str | None, lines: list[bytes],
                             keys: dict[bytes, int], refused: QueueFull, backoff: float) -> bool:
        """A batch refused for want of room: True once it is worth making again. False when its requests are
        sent in other batches instead: cut smaller (it is larger than the whole queue), or, made without a file,
        re-queued."""
        self.room.learn(refused.limit)
        row = batch or upload or "refused-" + next(iter(keys)).hex()[:16]
        if upload is None or not self.room.fits(lines or (self._lines.get(k, b"") for k in keys)):
            how = ("into the next batch" if upload is None else
                   f"again in batches cut to fit a queue of {self.room.limit:,} tokens")
            note(f"{self.label} ({self.role}): batch {row} refused: the provider's queue is full ({refused}); its "
                 f"{len(keys)} requests go {how}")
            self.store.settled(row, keys, state="refused")
            self._resend(keys)
            return False
        held = self.room.held
        self.store.waiting(row, self.identity, self.role, self.label, upload, keys, str(refused))
        note(f"{self.label} ({self.role}): batch {row} refused: the provider's queue is full ({refused}); its "
             f"{len(keys)} requests wait " + (f"until one of this run's {held} batch(es) in the queue ends"
                                              if held else f"{backoff:g} s") + " and go again from the same file")
        await self.room.wait(backoff)
        return True

    async def _watch(self, batch: str, keys: set[bytes]) -> QueueFull | None:
        """Poll the batch until it ends and collect it; what the provider said when it refused the batch for
        want of room in its queue (and nothing else happened), else None."""
        delay = self.options.poll_seconds
        refused = None
        said_unknown = False
        self.room.entered()
        try:
            while True:
                state = await self._patiently("poll", lambda: self.backend.poll(batch), keys)
                self.store.progress(batch, state.provider_status, state.done, state.errored)
                if state.status == "refused":
                    refused = QueueFull(state.error or "the account's batch queue is full", state.queue_limit)
                    return refused
                if state.status == "unknown" and not said_unknown:
                    said_unknown = True
                    note(f"{self.label} ({self.role}): the provider's answer about batch {batch} has "
                         f"{state.error or 'no status'}, which says neither running, ended nor failed; it is "
                         "looked at again later (only a batch the provider says `failed` is sent again)")
                if state.status not in ("running", "unknown"):
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, self.options.max_poll_seconds)
            if state.status == "failed":
                spent = sum(1 for k in keys if self._attempts.get(k, 1) >= self.options.max_attempts)
                fate = (f"{len(keys) - spent} go into the next batch" if spent < len(keys) else "none goes again")
                note(f"{self.label} ({self.role}): batch {batch} failed as a whole ({state.error}); of its "
                     f"{len(keys)} requests, {fate}" + (f" ({spent} were in {self.options.max_attempts} batches "
                                                       "already: their calls fail)" if spent else ""))
                self.store.settled(batch, keys, state="failed")
                self._again(keys, BatchItemError("batch_failed", state.error or "", retry=True))
                return None
            await self._collect(batch, keys)
        except BatchNotFound as exc:
            note(f"{self.label} ({self.role}): batch {batch} is not known to the provider any more ({exc}: deleted, "
                 f"past its retention, or made with another API key); its {len(keys)} requests are submitted again")
            self.store.settled(batch, keys, state="lost")
            self._again(keys, BatchItemError("lost", str(exc), retry=True))
        finally:
            self.room.left(refused=refused is not None)
        return None

    async def _collect(self, batch: str, keys: set[bytes]) -> None:
        try:
            answers, errors, unreadable = await self._patiently("download", lambda: self._read(batch, keys), keys)
        except CallFailed as exc:  # the batch is done and paid for: its requests stay recorded, never sent again
            note(f"{self.label} ({self.role}): batch {batch}: its results could not be downloaded ({exc.error}); "
                 f"its {len(keys)} requests stay recorded, and the same command downloads them again without "
                 "sending them again")
            raise
        if unreadable:
            note(f"{self.label} ({self.role}): batch {batch}: {plural(len(unreadable), 'unreadable line')} in its "
                 f"results file ({'; '.join(unreadable[:3])}); every answer it holds is saved, and each request "
                 "without a readable answer goes into the next batch")
        spent: float | None = 0.0
        for completion in answers.values():
            self.usage.add_answer(completion, self.price)
            self.usage.batched += 1
            each = cost(self.price, completion.usage.prompt_tokens, completion.usage.completion_tokens)
            spent = None if spent is None or each is None else spent + each
        await asyncio.gather(*(self.cache.put(key, self.role, c) for key, c in answers.items()))
        self.store.settled(batch, keys, state="collected", answers=len(answers), cost=spent,
                           unreadable=len(unreadable))
        for key, completion in answers.items():
            self._resolve(key, completion)
        retry = {k for k in keys if k not in answers and (k not in errors or errors[k].retry)}
        for key, error in errors.items():
            if not error.retry:
                self._submitted.discard(key)
                self._fail([key], self._failure(error))
        if retry:
            why = {e.kind for k, e in errors.items() if k in retry} or {"missing"}
            note(f"{self.label} ({self.role}): {len(retry)} requests of batch {batch} ended unanswered "
                 f"({', '.join(sorted(why))}); they go into the next batch")
            self._again(retry, next((errors[k] for k in retry if k in errors),
                                    BatchItemError("missing", "the batch did not report on it", retry=True)))

    async def _read(self, batch: str, keys: set[bytes]
                    ) -> tuple[dict[bytes, Completion], dict[bytes, BatchItemError], list[str]]:
        """The batch's answers and failed entries by key, and what each unreadable line of its results was."""
        answers: dict[bytes, Completion] = {}
        errors: dict[bytes, BatchItemError] = {}
        unreadable: list[str] = []
        async for custom_id, result in self.backend.results(batch):
            if isinstance(result, BatchItemError) and result.kind == UNREADABLE:
                unreadable.append(result.message)
            try:
                key = bytes.fromhex(custom_id)
            except ValueError:
                continue
            if key not in keys or key in answers:
                continue
            if isinstance(result, BatchItemError):
                errors[key] = result
            else:
                errors.pop(key, None)
                answers[key] = result
        return answers, errors, unreadable

    # --- outcomes -------------------------------------------------------------------------------------------
    def _resolve(self, key: bytes, completion: Completion) -> None:
        self._submitted.discard(key)
        self._lines.pop(key, None)
        self._attempts.pop(key, None)
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(completion)

    def _fail(self, keys: Any, error: BaseException) -> None:
        for key in keys:
            self._lines.pop(key, None)
            futures = self._waiters.pop(key, [])
            if futures and isinstance(error, CallFailed):
                self.usage.failed += 1
            for future in futures:
                if not future.done():
                    future.set_exception(error)

    def _failure(self, error: BatchItemError) -> CallFailed:
        message = TeacherError(f"{self.label}: {error.kind}: {error.message}")
        if error.kind in REJECTING:
            self.usage.rejected_prompts += error.kind == "context_length"
            return PromptRejected(self.role, message, error.kind)
        return CallFailed(self.role, message, 1)

    def _again(self, keys: set[bytes], error: BatchItemError) -> None:
        """Send `keys` in the next batch, or fail the calls that have been in `max_attempts` batches already."""
        for key in keys:
            self._submitted.discard(key)
            attempts = self._attempts.get(key, 1)
            if attempts >= self.options.max_attempts:
                self._fail([key], CallFailed(self.role, TeacherError(
                    f"{self.label}: unanswered in {attempts} batches ({error.kind}: {error.message})"), attempts))
            elif self._waiters.get(key):
                self._enqueue(key)

    def _resend(self, keys: dict[bytes, int]) -> None:
        """Send `keys` again in new batches, this try not counted (the provider took none of them). A request
        no call waits on yet (an earlier run's) is sent when its call comes."""
        for key in keys:
            self._submitted.discard(key)
            self._attempts[key] = keys[key] - 1
            if self._waiters.get(key) and key in self._lines:
                self._enqueue(key)

    async def _patiently(self, what: str, action: Callable[[], Awaitable[Any]], keys: Any) -> Any:
        """`action()`, tried again with a growing wait on RetryableError, RETRIES times in all."""
        delay = self.options.poll_seconds
        for attempt in range(1, RETRIES + 1):
            try:
                return await action()
            except RetryableError as exc:
                if attempt == RETRIES:
                    raise CallFailed(self.role, TeacherError(f"{self.label}: {what}: {exc}"), attempt) from None
                await asyncio.sleep(max(delay, exc.retry_after or 0))
                delay = min(delay * 2, self.options.max_poll_seconds)
        raise AssertionError("unreachable")

    def _spawn(self, work: Coroutine[Any, Any, None], keys: Any) -> None:
        """Run one batch's life; whatever stops it early fails the calls waiting on it (their requests stay
        recorded if submitted, so the next run collects them), and closes the backend's client when idle."""
        async def life() -> None:
            try:
                await work
            except asyncio.CancelledError:  # Ctrl+C or a fatal error elsewhere: what was submitted stays recorded
                raise
            except (CallFailed, DistillError) as exc:
                self._submitted.difference_update(keys)
                self._fail(list(keys), exc)
            except Exception as exc:  # a bug here must stop the calls loudly, never leave them waiting
                self._submitted.difference_update(keys)
                self._fail(list(keys), exc)
            finally:
                self._alive -= 1
                if not self._alive and not self._queue and not self._stopped:
                    await self.backend.close()  # idle: the next batch opens a new client

        self._alive += 1
        task = asyncio.ensure_future(life())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """End the work in hand as the run stops (its end, a fatal error, Ctrl+C): every batch task and the
        gathering are cancelled and awaited — what was submitted stays recorded, and the next run of the same
        command collects it — and the backend's client is closed. Nothing here touches the cache afterwards."""
        self._stopped = True
        tasks = [t for t in (*self._tasks, self._flusher) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.backend.close()
        self._stopping()

    def _stopping(self) -> None:
        """Say once, as the run stops, what stays with the provider and how to collect it."""
        if self._said_stop:
            return
        self._said_stop = True
        try:
            recorded = len(self.store.pending(self.identity, self.role))
        except sqlite3.Error:  # the cache is closed already: nothing to say that could be checked
            return
        if recorded:
            note(f"{self.label} ({self.role}): {recorded} submitted requests stay with the provider, recorded in "
                 "cache.sqlite; the same command collects them without sending them again (`distill status "
                 "RUN_DIR` shows their progress)")

    # --- an earlier run's batches ---------------------------------------------------------------------------
    def _resume(self) -> None:
        """Attach to the requests an earlier run left in the provider's hands: poll and collect their batches
        (create the batch of a file uploaded just before the run stopped); send none of them again."""
        self._resumed = True
        rows = self.store.pending(self.identity, self.role)
        answered = {r.key for r in rows if self.cache.get_raw(r.key) is not None}
        if answered:
            self.store.settled(None, answered)
        batches: dict[tuple[str, str | None], dict[bytes, int]] = defaultdict(dict)
        uploads: dict[str, dict[bytes, int]] = defaultdict(dict)
        for row in rows:
            if row.key in answered:
                continue
            self._submitted.add(row.key)
            self._attempts[row.key] = row.attempts
            if row.batch is not None:
                batches[row.batch, row.upload][row.key] = row.attempts
            elif row.upload is not None:
                uploads[row.upload][row.key] = row.attempts
        for (batch, upload), keys in batches.items():
            self._spawn(self._create(upload, [], keys, batch), keys)
        for upload, keys in uploads.items():
            self._spawn(self._create(upload, [], keys), keys)
        if batches or uploads:
            count = sum(len(k) for k in batches.values()) + sum(len(k) for k in uploads.values())
            note(f"{self.label} ({self.role}): collecting {count} requests from {len(batches) + len(uploads)} "
                 "batch(es) an earlier run submitted; none is sent again")


def plural(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


def note(message: str) -> None:
    print(f"batch: {message}", file=sys.stderr, flush=True)


def for_teacher(spec: ProviderSpec, cache: CallCache, usage: RoleUsage, role: str, identity: dict[str, Any]
                ) -> Dispatcher:
    """The dispatcher of a Teacher whose spec says `batch:` (its backend, cache, usage and batch price); `identity`
    is the endpoint as the Teacher's cache keys name it."""
    import hashlib

    import orjson

    from distill.batch.backend import backend_for
    from distill.engine.prices import batch_factor, batch_price
    from distill.providers.batch_options import batch_options

    options = batch_options(spec.batch)
    assert options is not None
    usage.batch_price_factor = batch_factor(spec)
    digest = hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).digest()
    return Dispatcher(backend_for(spec), cache, usage, role=role, identity=digest, label=spec.label(),
                      options=options, price=batch_price(spec))
