"""Dynamic batching for in-process models: concurrent async requests are gathered on one worker thread and
run together, so the event loop never blocks and a GPU (or CPU) sees full batches.

    worker = BatchWorker(run_batch, max_batch=8)
    result = await worker.submit(payload, group=key)   # payloads with the same group key share a batch

A batch is the oldest waiting payload and up to `max_batch - 1` more of its group, in arrival order; payloads of
other groups wait for the next batches (which collect their whole group too, not one payload at a time).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Hashable
from typing import Any

_STOP = object()


class BatchWorker:
    def __init__(self, run_batch: Callable[[list[Any]], list[Any]], max_batch: int, name: str = "distill-batch"
                 ) -> None:
        self.run_batch = run_batch
        self.max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    async def submit(self, payload: Any, group: Hashable = None) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((group, payload, future, loop))
        return await future

    def _loop(self) -> None:
        held: list[Any] = []
        while True:
            first = held.pop(0) if held else self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            waiting, held = held, []
            for item in waiting:  # held back earlier (another group was being served): the oldest of this group
                if item is not _STOP and item[0] == first[0] and len(batch) < self.max_batch:
                    batch.append(item)
                else:
                    held.append(item)
            while len(batch) < self.max_batch:  # take what is waiting now; never wait for more
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP or item[0] != first[0]:
                    held.append(item)
                    if item is _STOP:
                        break
                else:
                    batch.append(item)
            outcomes: list[tuple[Any, BaseException | None]]
            try:
                results = self.run_batch([p for _, p, _, _ in batch])
                outcomes = [(r, None) for _, r in zip(batch, results, strict=True)]  # one result per payload
            except BaseException as exc:  # delivered to every waiting caller
                outcomes = [(None, exc)] * len(batch)
            for (_, _, future, loop), (result, error) in zip(batch, outcomes, strict=True):
                loop.call_soon_threadsafe(_settle, future, result, error)

    def close(self) -> None:
        self._queue.put(_STOP)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
