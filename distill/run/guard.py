"""`ctx.guard(order, stage, item)`: the one place where a call that did not give a usable answer becomes the
work item's outcome, so no recipe repeats the `try / except UnreadableReply / except CallFailed` idiom.

    with ctx.guard(order, "solve", item) as call:
        reply = await ctx.teacher.complete(messages, params)
        ...  # any number of calls, and the recipe's own rejections, may run inside the block
    if call.stopped:
        return

When a call inside the block raises
* `UnreadableReply` (a judge or reward reply that cannot be read): the item is rejected under `stage` with the
  reply's reason and its raw text (or `on_unreadable(exc)` decides, for a recipe that rejects in its own way);
* `CallFailed` (retries exhausted; a prompt refused for good becomes a rejection, see `Outcomes.fail`): the item
  is recorded as failed under `stage`, and a re-run asks again;
the block ends there and `call.stopped` is True. Any other exception goes through — except in a guard opened by
`ctx.reading(order, stage, item, raw)`, whose block reads the reply `raw`: there an exception of the reader
rejects the item with its class name as reason (run/reply_guard.py). `ctx.call(...)` is the form for one awaited
call; `call.check(results)` raises what calls gathered with `return_exceptions=True` raised, and `settle(...)`
awaits sibling calls that way, so one call's failure never leaves the others running unaccounted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from distill.engine.call_failure import CallFailed
from distill.quality.replies import UnreadableReply
from distill.run.reply_guard import unreadable


class Recorder(Protocol):
    def reject(self, order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
               detail: Any = None) -> None: ...

    def fail(self, order: str, stage: str, item: dict[str, Any], error: CallFailed) -> None: ...


@dataclass
class CallGuard:
    recorder: Recorder
    order: str
    stage: str
    item: dict[str, Any]
    on_unreadable: Callable[[UnreadableReply], None] | None = None
    raw: str | None = None  # set: the block reads this reply, and what it raises rejects the item (reply_guard)
    stopped: bool = field(default=False, init=False)

    def check(self, results: Iterable[Any]) -> None:
        """Raise the first exception among `asyncio.gather(..., return_exceptions=True)` results (see
        `raise_first`)."""
        raise_first(results)

    def __enter__(self) -> CallGuard:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: TracebackType | None) -> bool:
        if exc is not None and self.raw is not None:
            exc = unreadable(exc, self.raw) or exc
        if isinstance(exc, UnreadableReply):
            if self.on_unreadable is not None:
                self.on_unreadable(exc)
            else:
                self.recorder.reject(self.order, self.stage, exc.reason, self.item, raw=exc.raw, detail=str(exc))
        elif isinstance(exc, CallFailed):
            self.recorder.fail(self.order, self.stage, self.item, exc)
        else:
            return False
        self.stopped = True
        return True


def raise_first(results: Iterable[Any]) -> None:
    """Raise the first exception among `asyncio.gather(..., return_exceptions=True)` results (which let every
    call run to its end, so each answer received reaches the cache and every call is counted): one that is not a
    call's failure or an unreadable reply first, so a bug is never recorded as a failed call."""
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise next((e for e in errors if not isinstance(e, (CallFailed, UnreadableReply))), errors[0])


async def settle(*calls: Awaitable[Any]) -> list[Any]:
    """`asyncio.gather(*calls)` that never abandons a sibling: every call runs to its end (answered, cached and
    counted) before the first exception among them is raised (`raise_first`); their results otherwise."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    raise_first(results)
    return results
