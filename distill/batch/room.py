"""Room in a provider's batch queue: a batch refused because the account has too much work queued waits here.

OpenAI caps the tokens an organisation may have enqueued per model (`token_limit_exceeded`: "Enqueued token limit
reached ... Please try again once some in_progress batches have been completed"). Sending the refused batch again
at once only earns another refusal, so it waits:

- while batches of this dispatcher are in the provider's queue (`held`: made and not ended), until one of them
  ends — then the first waiting batch (oldest first) tries again; when the last one ends, every waiting one does;
- when none is (the queue is full of other work), for a growing wait (`backoff`), capped by the caller.

Once the provider has said how large the queue is (`limit`, in tokens), a batch estimated to be larger than the
whole queue is sent again in parts that fit (`fits`, `cut`), and later batches are cut to fit as they are made.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

import orjson

BYTES_PER_TOKEN = 3  # UTF-8 bytes of prompt text per token, erring high (English runs ~4, CJK ~3)
TEXT_KEYS = {"content", "text", "system", "prompt"}
K = TypeVar("K")


class Room:
    def __init__(self) -> None:
        self.held = 0                   # batches the provider accepted that have not ended
        self.limit: int | None = None   # the queue's size in tokens, once the provider said it
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    def entered(self) -> None:
        self.held += 1

    def left(self, *, refused: bool = False) -> None:
        """A batch of ours left the queue: an ended one's room goes to the first waiting batch; a refused one took
        none. When none is left, every waiting batch tries again (none would be woken otherwise)."""
        self.held -= 1
        while self._waiters and not (refused and self.held):
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                if self.held:
                    return

    async def wait(self, backoff: float) -> None:
        """Until one of our batches ends when some are held, else `backoff` seconds (or an end, if sooner)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await asyncio.wait([future], timeout=None if self.held else backoff)
        finally:
            if not future.done():
                future.cancel()

    def learn(self, limit: int | None) -> None:
        if limit:
            self.limit = limit

    def fits(self, lines: Iterable[bytes]) -> bool:
        """Whether a batch of these request lines can fit in the whole queue (True while its size is unknown)."""
        return self.limit is None or sum(map(estimated_tokens, lines)) <= self.limit

    def cut(self, items: list[tuple[K, bytes]]) -> list[list[tuple[K, bytes]]]:
        """`items` (key, request line) in order, in parts that each fit in the whole queue, as far as is known."""
        if self.limit is None:
            return [items]
        parts: list[list[tuple[K, bytes]]] = [[]]
        tokens = 0
        for key, line in items:
            cost = estimated_tokens(line)
            if parts[-1] and tokens + cost > self.limit:
                parts.append([])
                tokens = 0
            parts[-1].append((key, line))
            tokens += cost
        return parts


def estimated_tokens(line: bytes) -> int:
    """A request's prompt tokens, erring high: the UTF-8 bytes of its text (messages, system, prompt) / 3 —
    English runs ~4 bytes a token, CJK ~3."""
    def text(value: Any, key: str = "") -> int:
        if isinstance(value, str):
            return len(value.encode()) if key in TEXT_KEYS else 0
        if isinstance(value, dict):
            return sum(text(v, k) for k, v in value.items())
        if isinstance(value, list):
            return sum(text(v, key) for v in value)
        return 0

    return text(orjson.loads(line)) // BYTES_PER_TOKEN + 1
