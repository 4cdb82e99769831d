"""`Teacher`: what recipes call. One cached, retried, rate-limited, concurrency-bounded model endpoint.

    completion = await teacher.complete(messages, params, sample=0)

Order of work for one call: cache look-up (a hit costs nothing and counts as a cache hit) -> an identical call on
its way is waited for and its answer read from the cache, a cache hit too (`single_flight.py`) -> concurrency slot ->
rate-limit budget -> provider call -> commit the answer to the cache -> account usage. A retry gives its slot
back while it waits. When retries run out, `CallFailed` carries the last error; nothing is cached, so the next
run of the same command tries again. A reply that came back empty because a stop string matched at its very start
(a small model echoing the prompt's format) is asked once more without stops and cut past the echo
(`stop_echo.py`); the cache keeps the final reply under the call's own key. `CallFailed` and `PromptRejected` are
defined in call_failure.py, where the batch dispatcher raises them too.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from distill.engine.budget import Budget, priced, worst_case
from distill.engine.cache import CallCache, call_key, key_identity
from distill.engine.call_failure import REJECTING, CallFailed, PromptRejected
from distill.engine.concurrency import AdaptiveSlots
from distill.engine.item_log import note_call
from distill.engine.limiter import RateLimiter
from distill.engine.retry import FailureRate, reason_of, retrying
from distill.engine.server_traits import LADDER, ServerTraits, traits_key
from distill.engine.stop_echo import empty_at_stop, past_echo
from distill.engine.usage import RoleUsage
from distill.errors import RetryableError, TeacherError, TimedOut
from distill.providers.base import (
    Completion,
    GenerationParams,
    Message,
    Provider,
    Usage,
)
from distill.providers.openai_refusals import Refused

RAW_ROLE = "distill.raw_prompt"  # marks a raw completion's prompt inside the engine (never sent as a role)
# the native tool-calling probe (`Teacher.tool_calling`): one tool, and a request no tool-calling model answers in words
PROBE_TOOL = {"type": "function", "function": {
    "name": "distill_probe", "description": "Record a word.",
    "parameters": {"type": "object", "properties": {"word": {"type": "string", "description": "the word"}},
                   "required": ["word"]}}}
PROBE_PROMPT = "Call the distill_probe function with the word \"ping\". Do not answer in words."


class Teacher:
    def __init__(self, role: str, provider: Provider, cache: CallCache, usage: RoleUsage,
                 defaults: GenerationParams, budget: Budget | None = None) -> None:
        self.role = role
        self.budget = budget  # every request reserves its worst case here first (engine/budget.py)
        self.provider = provider
        self.spec = provider.spec
        self.cache = cache
        self.usage = usage
        self.defaults = defaults
        self._slots = AdaptiveSlots(self.spec.max_concurrency)  # fewer while the endpoint times out
        self._limiter = (RateLimiter(self.spec.requests_per_minute, self.spec.tokens_per_minute)
                         if self.spec.requests_per_minute or self.spec.tokens_per_minute else None)
        self._completion_avg = 256.0
        self._failures = FailureRate()
        self._identity = key_identity(provider)  # includes extra_body; credentials left out
        self._dumped: dict[int, tuple[GenerationParams, dict[str, Any]]] = {}  # params objects are frozen
        self._traits_key = traits_key(self._identity)
        traits = getattr(provider, "traits", None)  # shared by every role that uses this provider object
        if not isinstance(traits, ServerTraits):
            traits = ServerTraits(self.spec, cache.get_raw(self._traits_key), provider.capabilities.supports_n)
            provider.traits = traits  # type: ignore[attr-defined]
        self.traits: ServerTraits = traits
        self._probing = asyncio.Lock()
        usage.capabilities = traits.report()
        self._batch: Any = None
        if self.spec.batch:  # batch mode: calls go through the provider's batch API (distill/batch/)
            from distill.batch.dispatcher import for_teacher

            self._batch = for_teacher(self.spec, self.cache, self.usage, self.role, self._identity)

    @property
    def label(self) -> str:
        return self.spec.label()

    @property
    def context_tokens(self) -> int | None:
        """The model's context window when known, for recipes that size their inputs to it."""
        return self.provider.context_tokens

    # what code outside engine/ and providers/ may know of the provider, so none of it reaches through
    @property
    def supports_json_schema(self) -> bool:
        """Whether the endpoint enforces a JSON schema given as `response_format` (judges then ask for one)."""
        return self.provider.capabilities.supports_json_schema

    @property
    def identity(self) -> dict[str, Any]:
        """The model and endpoint as the manifest names them (no credentials)."""
        return self.provider.identity

    async def tool_calling(self) -> str:
        """"native" when this endpoint honours `tools` (answers with tool calls of its own), else "text". Known for
        providers that say so (Anthropic: native; the embedded model: text); an OpenAI-compatible endpoint is
        probed once: a request offering one tool and asking for it to be called (cached like every call). A refusal
        of `tools`, or a reply without that call (the server dropped the parameter, or the model ignored it), means
        "text". The finding goes in the manifest's capabilities and is kept for later runs of the folder."""
        known = self.provider.capabilities.native_tools
        if known is not None:
            return "native" if known else "text"
        async with self._probing:  # concurrent examples probe once
            if self.traits.tool_calling is None:
                # tool_choice "auto" said outright: llama-cpp-python's function-calling formats ignore tools without it
                params = GenerationParams(temperature=0.0, max_tokens=64, tools=[PROBE_TOOL], tool_choice="auto")
                try:
                    reply = await self.complete([{"role": "user", "content": PROBE_PROMPT}], params)
                except Refused as exc:
                    if exc.field != "tools":
                        raise
                    mode, why = "text", str(exc)
                else:
                    calls = reply.choices[0].tool_calls or []
                    called = any((c.get("function") or {}).get("name") == "distill_probe" for c in calls)
                    mode, why = ("native", "") if called else (
                        "text", f"a request with tools got no tool call back: {reply.choices[0].text[:200]!r}")
                await self._learned(lambda: self.traits.found_tool_calling(mode, why))
            return self.traits.tool_calling or "text"

    def sharing(self, role: str, usage: RoleUsage, defaults: GenerationParams) -> Teacher:
        """Another role on this model and provider object (the judge when `judge:` names no model of its own)."""
        return Teacher(role, self.provider, self.cache, usage, defaults, self.budget)

    async def close(self) -> None:
        """Close the provider (a reward model's endpoint when its run ends)."""
        await self.provider.close()

    async def stop_batches(self) -> None:
        """Batch mode: end the dispatcher's work (what was submitted stays recorded for the next run) and close
        its connections, before the run closes the cache. Nothing to do otherwise."""
        if self._batch is not None:
            await self._batch.stop()

    @property
    def batch_capacity(self) -> int:
        """In batch mode, how many calls are worth having waiting at once (several full batches); 0 otherwise."""
        return self._batch.window if self._batch is not None else 0  # type: ignore[no-any-return]

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
        return self._cache_hit(self.key(messages, params or self.defaults, sample))

    async def complete(self, messages: list[Message], params: GenerationParams | None = None, *,
                       sample: int = 0) -> Completion:
        """The answer to `messages` with `params`: `params.n` choices, from the cache or the endpoint.

        Raises `CallFailed` when retries run out, `PromptRejected` (a `CallFailed`) when the endpoint refuses
        the prompt as too long for its context."""
        params = params or self.defaults
        key = self.key(messages, params, sample)
        refused = hashlib.sha256(b"refused:" + key).digest()  # a prompt the endpoint refused for good
        while True:
            hit = self._cache_hit(key)
            if hit is not None:
                return hit
            stored = self.cache.get_raw(refused)
            if stored is not None:  # refused by an earlier run: rejected again without asking
                self.usage.cache_hits += 1
                note_call(self.role)
                raise PromptRejected(self.role, TeacherError(stored["error"]))
            if not await self._waited(key):  # no identical call on its way: this one sends it
                break
        try:
            with self.cache.flights.sending(key):
                if self._batch is not None:  # committed to the cache by the batch dispatcher
                    completion = await self._deferred(key, messages, params, sample)
                else:
                    completion = await self._answer(messages, params, sample)
                    await self.cache.put(key, self.role, completion)
        except PromptRejected as exc:
            if exc.reason == "context_length":  # refused for good; an oversized reply may not come again
                await self.cache.put_raw(refused, self.role, {"error": str(exc.error)})
            note_call(self.role)
            raise
        note_call(self.role)
        return completion

    def _cache_hit(self, key: bytes) -> Completion | None:
        """The cached answer under `key`, counted as a cache hit of this role; None when there is none."""
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.cache_hits += 1
            self.usage.add_cached(hit)
            note_call(self.role)
        return hit

    async def _waited(self, key: bytes) -> bool:
        """Whether an identical call was on its way and has ended (its answer is then in the cache): this call
        waited for it instead of sending the same request (engine/single_flight.py). The failure it met is this
        call's too, under this call's role: retries out (`CallFailed`), a prompt refused (`PromptRejected`)."""
        try:
            return await self.cache.flights.wait(key)
        except PromptRejected as exc:
            note_call(self.role)
            raise PromptRejected(self.role, exc.error, exc.reason) from None
        except CallFailed as exc:
            raise CallFailed(self.role, exc.error, exc.attempts) from None

    async def _deferred(self, key: bytes, messages: list[Message], params: GenerationParams, sample: int
                        ) -> Completion:
        """Batch mode: the answer from the provider's batch API, committed to the cache under `key`. A backend
        without `n` gets n single-sample requests, keyed and seeded as `_fan_out` keys them."""
        batch = self._batch
        shaped = self.traits.shape(params)
        if shaped.n == 1 or batch.backend.supports_n:
            if self.budget is None:
                return await batch.call(key, lambda custom_id: batch.backend.encode(custom_id, messages, shaped))  # type: ignore[no-any-return]
            price = batch.price
            need = worst_case(messages, shaped, self.spec, price)
            await self.budget.reserve(need, f"{self.role}, {self.label}, batch")
            answer: Completion | None = None
            try:
                answer = await batch.call(key, lambda custom_id: batch.backend.encode(custom_id, messages, shaped))
            finally:
                self.budget.settle(need, None if answer is None else priced(
                    price, answer.usage.prompt_tokens, answer.usage.completion_tokens))
            return answer

        async def single(index: int) -> Completion:
            one, at = params.merged(n=1, seed=(params.seed or 0) + index), sample * 1000 + index
            single_key = self.key(messages, one, at)
            return self.cache.get(single_key) or await self._deferred(single_key, messages, one, at)

        parts = await asyncio.gather(*(single(i) for i in range(params.n)))
        completion = Completion(choices=[p.choices[0] for p in parts], model=parts[0].model,
                                usage=Usage(prompt_tokens=sum(p.usage.prompt_tokens for p in parts),
                                            completion_tokens=sum(p.usage.completion_tokens for p in parts)))
        await self.cache.put(key, self.role, completion)
        return completion

    async def _answer(self, messages: list[Message], params: GenerationParams, sample: int) -> Completion:
        """`params.n` choices from the endpoint, whatever it turns out to accept."""
        if params.n > 1 and self.traits.supports_n is False:
            return await self._fan_out(messages, params, sample, [])
        try:
            completion = await self._fetch(messages, params)
        except Refused as exc:
            if exc.field != "n" or params.n == 1:
                raise
            why = str(exc)
            await self._learned(lambda: self.traits.lacks_n(why))
            return await self._fan_out(messages, params, sample, [])
        if len(completion.choices) < params.n:  # `n` ignored: send the rest as single calls
            got = len(completion.choices)
            await self._learned(lambda: self.traits.lacks_n(f"{got} of n={params.n} choices returned"))
            return await self._fan_out(messages, params, sample, [completion])
        return completion

    async def _fetch(self, messages: list[Message], params: GenerationParams) -> Completion:
        """One answer from the endpoint (`_fetch_once`), in which no choice is empty because a stop string matched
        at its start: such a choice is asked once more without the stop strings and cut past its leading echo
        (`stop_echo.py`). Replies with text before their first stop are returned as they came."""
        completion = await self._fetch_once(messages, params)
        stops = params.stop
        if not stops or not any(empty_at_stop(c, stops) for c in completion.choices):
            return completion
        choices, prompt_tokens, completion_tokens = list(completion.choices), completion.usage.prompt_tokens, \
            completion.usage.completion_tokens
        for i, choice in enumerate(completion.choices):
            if not empty_at_stop(choice, stops):
                continue
            self.usage.stop_echoes += 1
            seed = params.seed + i if i and params.seed is not None else params.seed
            reply = await self._fetch_once(messages, params.model_copy(update={"stop": None, "n": 1, "seed": seed}))
            choices[i] = past_echo(reply.choices[0], stops)
            prompt_tokens += reply.usage.prompt_tokens
            completion_tokens += reply.usage.completion_tokens
        return Completion(choices=choices, model=completion.model,
                          usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    async def _fetch_once(self, messages: list[Message], params: GenerationParams) -> Completion:
        """One answer from the endpoint: retried on transient errors, and sent again in another shape when the
        endpoint refuses the form of structured output (never counted as a retry). Accounted in usage."""
        adaptable = (params.response_format or {}).get("type") == "json_schema"  # a form we may change
        last: Refused | None = None
        for _ in range(len(LADDER)):  # at most one step down the ladder per form
            try:
                try:  # the first attempt outside tenacity: its bookkeeping costs more CPU than a successful call
                    completion = await self._send(messages, params)
                except RetryableError as first:
                    completion = await self._retry(messages, params, first)
            except Refused as exc:
                if exc.field in REJECTING:
                    self.usage.rejected_prompts += exc.field == "context_length"
                    raise PromptRejected(self.role, exc, exc.field) from None
                sent, last = getattr(exc, "sent", params), exc
                if adaptable and exc.field in ("response_format", "guided_json") and self.traits.step_down(
                        sent, str(exc)):
                    await self._learned(None)
                    continue
                raise  # a form the recipe or the config chose itself: the refusal stands
            self.usage.add_answer(completion, self.spec.price)
            return completion
        assert last is not None
        raise last

    async def _learned(self, change: Any) -> None:
        """Apply a change to the endpoint's traits; record them in the manifest and keep them for later runs."""
        if change is not None:
            change()
        report = self.traits.report()
        self.usage.capabilities = report
        await self.cache.put_raw(self._traits_key, "traits", report)

    async def complete_raw(self, prompt: str, params: GenerationParams | None = None, *, sample: int = 0
                           ) -> Completion:
        """A raw completion of `prompt` (no chat template), cached, retried and accounted exactly like
        `complete`. Providers that serve chat only raise TeacherError (exit 1, with a message)."""
        params = params or self.defaults
        raw = [{"role": RAW_ROLE, "content": prompt}]  # its own cache key: never equal to a chat call's
        key = self.key(raw, params, sample)
        while True:
            hit = self._cache_hit(key)
            if hit is not None:
                return hit
            if not await self._waited(key):  # no identical call on its way: this one sends it
                break
        with self.cache.flights.sending(key):
            if self._batch is not None and self._batch.backend.supports_raw:  # batch mode: the dispatcher commits
                completion = await self._deferred(key, raw, params, sample)
            elif params.n > 1 and self.traits.supports_n is False:
                completion = await self._fan_out(raw, params, sample, [])
                await self.cache.put(key, self.role, completion)
            else:
                completion = await self._fetch(raw, params)
                await self.cache.put(key, self.role, completion)
        note_call(self.role)
        return completion

    async def render_chat(self, messages: list[Message]) -> str:
        """The prompt text the model's own chat template makes of `messages` (rendered by the backend)."""
        return await self.provider.render_chat(messages)

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
        epoch = await self._slots.acquire()
        try:
            if params.n > 1 and self.traits.supports_n is False:  # found while this call waited for its slot
                raise Refused("n", f"{self.label} lacks n (found earlier in this run)")
            params = self.traits.shape(params)  # shaped once it has a slot: the latest finding applies
            completion = await self._budgeted(messages, params)
        except TimedOut:
            if self._slots.timed_out(epoch):
                self.usage.concurrency = self._slots.lowest
            raise
        finally:
            self._slots.release()
        self._slots.answered()
        return completion

    async def _budgeted(self, messages: list[Message], params: GenerationParams) -> Completion:
        """The request, its worst-case cost reserved against the budget first when there is one."""
        if self.budget is None:
            return await self._timed(messages, params)
        need = worst_case(messages, params, self.spec, self.spec.price)
        await self.budget.reserve(need, f"{self.role}, {self.label}")
        completion: Completion | None = None
        try:
            completion = await self._timed(messages, params)
        finally:
            self.budget.settle(need, None if completion is None else priced(
                self.spec.price, completion.usage.prompt_tokens, completion.usage.completion_tokens))
        return completion

    async def _timed(self, messages: list[Message], params: GenerationParams) -> Completion:
        """`_sent`, with the seconds it took in its slot counted (for a pilot's time per request, run/pilot.py)."""
        begun = time.monotonic()
        completion = await self._sent(messages, params)
        self.usage.timed(begun, time.monotonic())
        return completion

    async def _sent(self, messages: list[Message], params: GenerationParams) -> Completion:
        """The request itself, in a slot, with `params` shaped for the endpoint."""
        estimate = 0.0
        if self._limiter is not None:
            estimate = sum(len(m.get("content", "")) for m in messages) / 4 + params.n * (
                params.max_tokens or self._completion_avg)
            await self._limiter.acquire(estimate)
        self.usage.requests += 1
        self.usage.in_flight += 1
        try:
            completion = (await self.provider.complete_raw(messages[0]["content"], params)
                          if messages[0].get("role") == RAW_ROLE else
                          await self.provider.complete(messages, params))
        except RetryableError:
            self._failures.record(True)
            raise
        except Refused as exc:
            exc.sent = params  # type: ignore[attr-defined]  # the shape that was refused
            raise
        finally:
            self.usage.in_flight -= 1
        self._failures.record(False)
        del completion.choices[params.n:]  # a server that sends more choices than asked: only n count
        if self._limiter is not None:
            actual = completion.usage.prompt_tokens + completion.usage.completion_tokens
            self._limiter.settle(estimate, actual or estimate)
            if completion.usage.completion_tokens:
                self._completion_avg = 0.9 * self._completion_avg + 0.1 * (
                    completion.usage.completion_tokens / params.n)
        return completion

    def _on_retry(self, exc: BaseException | None) -> None:
        self.usage.add_retry(reason_of(exc))

    async def _fan_out(self, messages: list[Message], params: GenerationParams, sample: int,
                       have: list[Completion]) -> Completion:
        """n samples from an endpoint without `n`: the choices already received, then single calls with distinct
        sample indices and seeds, each cached on its own."""
        start = sum(len(p.choices) for p in have)
        singles = [(i, params.merged(n=1, seed=(params.seed or 0) + i)) for i in range(start, params.n)]
        parts = have + list(await asyncio.gather(*(self._single(messages, p, sample * 1000 + i)
                                                   for i, p in singles)))
        return Completion(choices=[c for p in parts for c in p.choices][:params.n], model=parts[0].model,
                          usage=Usage(prompt_tokens=sum(p.usage.prompt_tokens for p in parts),
                                      completion_tokens=sum(p.usage.completion_tokens for p in parts)))

    async def _single(self, messages: list[Message], params: GenerationParams, sample: int) -> Completion:
        key = self.key(messages, params, sample)
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.cache_hits += 1
            return hit
        completion = await self._fetch(messages, params)
        completion = completion.model_copy(update={"choices": completion.choices[:1]})
        await self.cache.put(key, self.role, completion)
        return completion
