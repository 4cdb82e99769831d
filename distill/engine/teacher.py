"""`Teacher`: what recipes call. One cached, retried, rate-limited, concurrency-bounded model endpoint.

    completion = await teacher.complete(messages, params, sample=0)

Order of work for one call: cache look-up (a hit costs nothing and counts as a cache hit) -> concurrency slot ->
rate-limit budget -> provider call -> commit the answer to the cache -> account usage. A retry gives its slot
back while it waits. When retries run out, `CallFailed` carries the last error; nothing is cached, so the next
run of the same command tries again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from distill.engine.cache import CallCache, call_key
from distill.engine.item_log import note_call
from distill.engine.limiter import RateLimiter
from distill.engine.retry import FailureRate, reason_of, retrying
from distill.engine.usage import RoleUsage
from distill.errors import RetryableError
from distill.providers.base import Completion, GenerationParams, Message, Provider


class CallFailed(Exception):
    """A teacher call whose retries ran out. The item it belongs to is recorded as failed, not lost."""

    def __init__(self, role: str, error: BaseException, attempts: int) -> None:
        super().__init__(f"{role} call failed after {attempts} attempt(s): {error}")
        self.role = role
        self.error = error
        self.attempts = attempts


class Teacher:
    def __init__(self, role: str, provider: Provider, cache: CallCache, usage: RoleUsage,
                 defaults: GenerationParams) -> None:
        self.role = role
        self.provider = provider
        self.spec = provider.spec
        self.cache = cache
        self.usage = usage
        self.defaults = defaults
        self._slots = asyncio.Semaphore(self.spec.max_concurrency)
        self._limiter = (RateLimiter(self.spec.requests_per_minute, self.spec.tokens_per_minute)
                         if self.spec.requests_per_minute or self.spec.tokens_per_minute else None)
        self._completion_avg = 256.0
        self._failures = FailureRate()
        self._identity = provider.identity
        self._dumped: dict[int, tuple[GenerationParams, dict[str, Any]]] = {}  # params objects are frozen

    @property
    def label(self) -> str:
        return self.spec.label()

    def key(self, messages: list[Message], params: GenerationParams, sample: int = 0) -> bytes:
        dumped = self._dumped.get(id(params))
        if dumped is None or dumped[0] is not params:
            dumped = self._dumped[id(params)] = (params, params.model_dump(exclude_none=True))
        return call_key(self._identity, messages, dumped[1], sample)

    def params(self, **overrides: Any) -> GenerationParams:
        return self.defaults.merged(**overrides)

    def cached(self, messages: list[Message], params: GenerationParams | None = None, *, sample: int = 0
               ) -> Completion | None:
        """The cached answer to this exact call, or None — synchronous, for recipes' fast re-run path."""
        params = params or self.defaults
        if params.n > 1 and not self.provider.capabilities.supports_n:
            return None
        hit = self.cache.get(self.key(messages, params, sample))
        if hit is not None:
            self.usage.cache_hits += 1
            note_call(self.role)
        return hit

    async def complete(self, messages: list[Message], params: GenerationParams | None = None, *,
                       sample: int = 0) -> Completion:
        params = params or self.defaults
        if params.n > 1 and not self.provider.capabilities.supports_n:
            return await self._fan_out(messages, params, sample)
        key = self.key(messages, params, sample)
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.cache_hits += 1
            note_call(self.role)
            return hit
        try:  # the first attempt outside tenacity: its bookkeeping costs more CPU than a successful call
            completion = await self._send(messages, params)
        except RetryableError as first:
            completion = await self._retry(messages, params, first)
        await self.cache.put(key, self.role, completion)
        self.usage.add_answer(completion, self.spec.price)
        note_call(self.role)
        return completion

    async def _retry(self, messages: list[Message], params: GenerationParams, first: RetryableError) -> Completion:
        """Attempts 2..max_retries+1 under tenacity (backoff, Retry-After), after `first` failed."""
        attempts = 1
        pending: BaseException | None = first
        try:
            async for attempt in retrying(self.spec.max_retries, self._on_retry, self._failures):
                with attempt:
                    if pending is not None:  # replay the first failure so tenacity schedules its retry
                        exc, pending = pending, None
                        raise exc
                    attempts += 1
                    completion = await self._send(messages, params)
        except RetryableError as exc:
            self.usage.failed += 1
            raise CallFailed(self.role, exc, attempts) from None
        return completion

    async def _send(self, messages: list[Message], params: GenerationParams) -> Completion:
        async with self._slots:
            estimate = 0.0
            if self._limiter is not None:
                estimate = sum(len(m.get("content", "")) for m in messages) / 4 + params.n * (
                    params.max_tokens or self._completion_avg)
                await self._limiter.acquire(estimate)
            self.usage.requests += 1
            self.usage.in_flight += 1
            try:
                completion = await self.provider.complete(messages, params)
            except RetryableError:
                self._failures.record(True)
                raise
            finally:
                self.usage.in_flight -= 1
            self._failures.record(False)
            if self._limiter is not None:
                actual = completion.usage.prompt_tokens + completion.usage.completion_tokens
                self._limiter.settle(estimate, actual or estimate)
                if completion.usage.completion_tokens:
                    self._completion_avg = 0.9 * self._completion_avg + 0.1 * (
                        completion.usage.completion_tokens / params.n)
            return completion

    def _on_retry(self, exc: BaseException | None) -> None:
        self.usage.add_retry(reason_of(exc))

    async def _fan_out(self, messages: list[Message], params: GenerationParams, sample: int) -> Completion:
        """Emulate n samples on a server without `n`: n single calls with distinct sample indices (and seeds)."""
        single = [params.merged(n=1, seed=(params.seed or 0) + i) for i in range(params.n)]
        parts = await asyncio.gather(*(self.complete(messages, p, sample=sample * 1000 + i)
                                       for i, p in enumerate(single)))
        out = Completion(choices=[c for p in parts for c in p.choices], model=parts[0].model)
        out.usage.prompt_tokens = sum(p.usage.prompt_tokens for p in parts)
        out.usage.completion_tokens = sum(p.usage.completion_tokens for p in parts)
        return out
