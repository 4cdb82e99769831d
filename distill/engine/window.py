"""The sliding window: work items start as soon as a slot frees, never in lock-step batches.

Memory is O(width): the item iterator is pulled lazily, so a million-row input never becomes a million tasks.
Items a recipe can finish synchronously (all answers cached) skip the task machinery entirely.
A worker handles its own per-item failures; an exception escaping a worker (a `TeacherError` such as a wrong
key, an `InputError`) stops the window, cancels what is in flight and is re-raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def sliding_window(items: Iterable[T], worker: Callable[[T], Awaitable[None]], width: int,
                         fast: Callable[[T], bool] | None = None) -> None:
    """Run `worker` over `items`, at most `width` at a time. `fast(item)`, when given, may finish an item
    synchronously (e.g. every answer it needs is already cached) and return True; no task is made for it."""
    slots = asyncio.Semaphore(width)
    running: set[asyncio.Task[None]] = set()
    fatal: list[BaseException] = []

    def done(task: asyncio.Task[None]) -> None:
        running.discard(task)
        slots.release()
        if not task.cancelled() and task.exception() is not None and not fatal:
            fatal.append(task.exception())  # type: ignore[arg-type]

    try:
        for item in items:
            if fast is not None and fast(item):
                continue
            await slots.acquire()
            if fatal:
                break
            task = asyncio.ensure_future(worker(item))
            running.add(task)
            task.add_done_callback(done)
        while running and not fatal:
            await asyncio.wait(set(running), return_when=asyncio.FIRST_EXCEPTION)
    finally:
        if fatal or running:
            for task in list(running):
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
    if fatal:
        raise fatal[0]
