"""The driver's side of a Ray-served model: a `Provider` whose calls run in a pool of Ray actors.

`RayPool.complete` puts the call on the least busy live replica's queue; everything queued in one event-loop
turn goes to that actor as one `submit`, and one long-poll `collect` per replica brings answers back in
batches, so a Ray round trip costs well under a tenth of a millisecond per call. The answer is returned to the
`Teacher`, which commits it to the cache on the driver before anything is built from it.

A replica that dies (killed, out of memory, its node gone) is restarted by Ray (`max_restarts`). Every call it
had in flight fails with `WorkerLost`, a retryable error: the Teacher sends it again (to a live replica) and
counts the retry under `WorkerLost`. None of those answers had reached the driver, so no answer the run received
is ever asked for twice. A replica that stays dead is dropped; when none is left, the run stops with a
`TeacherError`.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
import ray
from ray.exceptions import RayActorError

from distill.engine.cache import completion_from_json
from distill.errors import RetryableError, TeacherError
from distill.executors.ray_worker import Call, unpack_error
from distill.providers.base import Capabilities, Completion, GenerationParams, Message, Provider
from distill.providers.spec import ProviderSpec

PROBE_SECONDS = 120.0  # how long a restarting replica may take before it counts as gone


class WorkerLost(RetryableError):
    """The Ray actor serving a call died before its answer reached the driver; the call is sent again."""


@dataclass(eq=False)
class Replica:
    actor: Any
    name: str
    pending: list[Call] = field(default_factory=list)
    waiting: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    live: bool = True  # False from a death until the restarted actor answers
    gone: bool = False  # restarts ran out
    poller: asyncio.Task[None] | None = None
    answered: int = 0  # answers (and errors) this replica handed back
    lost: int = 0  # calls it had in flight when it died

    @property
    def load(self) -> int:
        return len(self.waiting)


class RayPool(Provider):
    kind = "ray"

    def __init__(self, spec: ProviderSpec, replicas: list[Replica], info: dict[str, Any], limiter: Any = None
                 ) -> None:
        super().__init__(spec)
        self.replicas = replicas
        self._identity = info["identity"]
        self.inner_kind = info["kind"]
        self.capabilities = Capabilities(**info["capabilities"])
        self._context_tokens = info["context_tokens"]
        self.limiter = limiter
        self._ids = itertools.count()
        self._flushing: set[Replica] = set()
        self._closed = False
        for r in replicas:
            r.poller = asyncio.ensure_future(self._poll(r))

    @property
    def identity(self) -> dict[str, Any]:
        return self._identity  # the served provider's: the same cache keys as the local executor

    @property
    def context_tokens(self) -> int | None:
        return self.spec.context_tokens or self._context_tokens

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        return completion_from_json(orjson.loads(await self._call("chat", messages, params)))

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        return completion_from_json(orjson.loads(await self._call("raw", prompt, params)))

    async def render_chat(self, messages: list[Message]) -> str:
        return await self._call("render", messages, None)  # type: ignore[no-any-return]

    async def score(self, messages: list[Message]) -> dict[str, float]:
        """A reward model's scores (a pool of reward-model replicas)."""
        return await self._call("score", messages, None)  # type: ignore[no-any-return]

    async def _call(self, what: str, payload: Any, params: GenerationParams | None) -> Any:
        replica = self._choose()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        replica.waiting[call_id] = future
        replica.pending.append((call_id, what, payload, params))
        if replica not in self._flushing:
            self._flushing.add(replica)
            asyncio.get_running_loop().call_soon(self._flush, replica)
        try:
            return await future
        finally:
            replica.waiting.pop(call_id, None)

    def _choose(self) -> Replica:
        usable = [r for r in self.replicas if r.live and not r.gone] or [r for r in self.replicas if not r.gone]
        if not usable:
            raise TeacherError(f"teacher {self.spec.label()}: every Ray worker serving it died and was not "
                               "restarted (executor.max_restarts); see the Ray logs for why")
        return min(usable, key=lambda r: r.load)

    def _flush(self, replica: Replica) -> None:
        self._flushing.discard(replica)
        calls, replica.pending = replica.pending, []
        if calls:
            ref = replica.actor.submit.remote(calls)
            asyncio.ensure_future(self._delivered(replica, ref, [c[0] for c in calls]))

    async def _delivered(self, replica: Replica, ref: Any, ids: list[int]) -> None:
        """A batch that never reached the actor (it was dead, or died taking it) is lost: send it again."""
        try:
            await ref
        except RayActorError as exc:
            self._lose(replica, ids, exc)

    async def _poll(self, replica: Replica) -> None:
        while not self._closed:
            try:
                results = await replica.actor.collect.remote()
            except RayActorError as exc:
                self._lose(replica, list(replica.waiting), exc)
                await self._revive(replica)
                if replica.gone:
                    return
                continue
            waiting = replica.waiting
            replica.answered += len(results)
            for call_id, ok, payload in results:
                future = waiting.pop(call_id, None)
                if future is None or future.done():
                    continue  # a call given up on (cancelled, or already re-sent after a death)
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(unpack_error(payload))

    def _lose(self, replica: Replica, ids: list[int], exc: BaseException) -> None:
        replica.live = False
        lost = set(ids)
        replica.pending = [c for c in replica.pending if c[0] not in lost]
        for call_id in ids:
            future = replica.waiting.pop(call_id, None)
            if future is not None and not future.done():
                replica.lost += 1
                future.set_exception(WorkerLost(f"Ray worker {replica.name} died with the call in flight: "
                                                f"{type(exc).__name__}"))

    async def _revive(self, replica: Replica) -> None:
        """Wait for Ray to restart the actor; give it up when it does not come back."""
        try:
            await asyncio.wait_for(replica.actor.describe.remote(), PROBE_SECONDS)
        except (RayActorError, asyncio.TimeoutError):
            replica.gone = True
            for future in list(replica.waiting.values()):
                if not future.done():
                    future.set_exception(WorkerLost(f"Ray worker {replica.name} is gone"))
            return
        replica.live = True

    def describe(self) -> dict[str, Any]:
        return {"model": self.spec.label(), "kind": self.inner_kind, "actors": len(self.replicas),
                "answered": [r.answered for r in self.replicas], "lost": sum(r.lost for r in self.replicas),
                "rate_limiter": self.limiter is not None}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for r in self.replicas:
            if r.poller is not None:
                r.poller.cancel()
        closing = [r.actor.close.remote() for r in self.replicas if not r.gone]
        try:
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 10)
        except asyncio.TimeoutError:
            pass
        for actor in [r.actor for r in self.replicas] + ([self.limiter] if self.limiter is not None else []):
            ray.kill(actor, no_restart=True)
