"""What runs inside Ray actors: a provider serving calls, and the rate limiter every worker shares.

`ProviderWorker` holds one provider — an HTTP client (one of a pool of workers) or an in-process model (one
replica). The driver sends calls in batches (`submit`) and long-polls for answers (`collect`), so one Ray round
trip carries many calls each way; each call runs as soon as it arrives, concurrently with the others, and its
answer (or its exception) is handed back as soon as it is ready. A worker keeps nothing: it never sees the cache,
and an answer it produced that never reached the driver is simply asked for again.

`LimiterActor` holds the provider's requests-per-minute and tokens-per-minute buckets (`engine/limiter.py`);
each worker takes its budget from it before every request and settles the real token count after, so N workers
together stay under one provider limit.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from typing import Any

from distill.engine.cache import completion_to_json
from distill.engine.limiter import RateLimiter
from distill.errors import DistillError
from distill.providers.base import Completion, GenerationParams, Message
from distill.providers.spec import ProviderSpec

# (call id, what, payload, params): what is "chat" (messages), "raw" (a prompt string, a raw completion) or
# "render" (messages -> the prompt text the model's chat template makes; params unused)
Call = tuple[int, str, Any, GenerationParams | None]
Result = tuple[int, bool, Any]  # (call id, ok, completion JSON bytes or rendered text | a packed exception)


class ProviderWorker:
    def __init__(self, spec: ProviderSpec, threads: int | None = None, limiter: str | None = None,
                 reward: bool = False) -> None:
        from distill.providers.registry import create_provider

        self.provider: Any = None
        self.reward = reward  # a reward model (scores conversations) rather than a provider
        self.error: BaseException | None = None
        try:
            if reward:
                from distill.quality.reward_transformers import TransformersReward

                self.provider = TransformersReward(spec)
            else:
                self.provider = create_provider(spec)
            if threads and hasattr(self.provider, "threads"):
                self.provider.threads = threads  # llama.cpp: as many threads as the replica's CPUs
        except DistillError as exc:  # e.g. a missing model file or package: reported by describe()
            self.error = exc
        self.limit = SharedLimit(limiter) if limiter is not None else None
        self.ready: list[Result] = []
        self.wake: asyncio.Event | None = None
        self.running: set[asyncio.Task[None]] = set()

    async def describe(self) -> dict[str, Any]:
        """What the driver needs to know about the provider (its cache identity, capabilities), or the error
        that stopped it from being made."""
        if self.error is not None:
            return {"error": self.error}
        p = self.provider
        if self.reward:
            return {"identity": p.identity, "kind": "reward-transformers", "capabilities": {},
                    "context_tokens": None, "pid": os.getpid()}
        return {"identity": p.identity, "kind": p.kind, "capabilities": p.capabilities.model_dump(),
                "context_tokens": p.context_tokens, "pid": os.getpid()}

    async def submit(self, calls: list[Call]) -> None:
        for call in calls:
            task = asyncio.ensure_future(self._one(*call))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def collect(self) -> list[Result]:
        """Every answer ready now; waits until there is at least one."""
        wake = self._wake()
        while not self.ready:
            wake.clear()
            await wake.wait()
        out, self.ready = self.ready, []
        return out

    async def close(self) -> None:
        if self.provider is not None:
            await self.provider.close()

    def _wake(self) -> asyncio.Event:
        if self.wake is None:
            self.wake = asyncio.Event()
        return self.wake

    async def _one(self, call_id: int, what: str, payload: Any, params: GenerationParams | None) -> None:
        result: Result
        try:
            if self.error is not None:
                raise self.error
            if what == "render":
                result = (call_id, True, await self.provider.render_chat(payload))
            elif what == "score":
                result = (call_id, True, await self.provider.score(payload))
            else:
                assert params is not None
                messages = payload if what == "chat" else [{"role": "user", "content": payload}]
                estimate = await self.limit.acquire(messages, params) if self.limit is not None else 0.0
                completion = await (self.provider.complete(payload, params) if what == "chat" else
                                    self.provider.complete_raw(payload, params))
                if self.limit is not None:
                    self.limit.settle(estimate, completion, params)
                result = (call_id, True, completion_to_json(completion))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the driver's retry logic
            result = (call_id, False, pack_error(exc))
        self.ready.append(result)
        self._wake().set()


def pack_error(exc: BaseException) -> tuple[type, tuple[Any, ...], dict[str, Any]]:
    """An exception as (class, args, attributes), rebuilt by `unpack_error` without calling its __init__: an
    error whose __init__ takes other arguments than its args (e.g. a refusal naming the refused field) comes
    back whole, attributes included (a 429's Retry-After). One that cannot be pickled becomes a RuntimeError."""
    packed = (type(exc), exc.args, dict(vars(exc)))
    try:
        pickle.dumps(packed)
    except Exception:  # noqa: BLE001
        return (RuntimeError, (f"{type(exc).__name__}: {exc}",), {})
    return packed


def unpack_error(packed: tuple[type, tuple[Any, ...], dict[str, Any]]) -> BaseException:
    cls, args, attributes = packed
    exc = cls.__new__(cls, *args)
    exc.args = args
    vars(exc).update(attributes)
    return exc


class SharedLimit:
    """A worker's side of the shared limiter (a named actor): reserve an estimate of the tokens before a request,
    settle the difference after."""

    def __init__(self, name: str) -> None:
        import ray

        self.actor = ray.get_actor(name, namespace="distill")
        self.completion_avg = 256.0

    async def acquire(self, messages: list[Message], params: GenerationParams) -> float:
        estimate = sum(len(m.get("content", "")) for m in messages) / 4 + params.n * (
            params.max_tokens or self.completion_avg)
        await self.actor.acquire.remote(estimate)
        return estimate

    def settle(self, estimate: float, completion: Completion, params: GenerationParams) -> None:
        used = completion.usage.prompt_tokens + completion.usage.completion_tokens
        self.actor.settle.remote(estimate, used or estimate)
        if completion.usage.completion_tokens:
            self.completion_avg = 0.9 * self.completion_avg + 0.1 * completion.usage.completion_tokens / params.n


class LimiterActor:
    """One per rate-limited provider and run: the token buckets every worker draws from, first come first served."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        self.limiter = RateLimiter(requests_per_minute, tokens_per_minute)

    async def acquire(self, tokens: float) -> None:
        await self.limiter.acquire(tokens)

    async def settle(self, estimated: float, actual: float) -> None:
        self.limiter.settle(estimated, actual)
