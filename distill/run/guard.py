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
the block ends there and `call.stopped` is True. Any other exception goes through. `ctx.call(...)` is the form
for one awaited call; `call.check(results)` raises what calls gathered with `return_exceptions=True` raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from distill.engine.teacher import CallFailed
from distill.quality.replies import UnreadableReply


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
    stopped: bool = field(default=False, init=False)

    def check(self, results: Iterable[Any]) -> None:
        """Raise the first exception among `asyncio.gather(..., return_exceptions=True)` results (which let every
        call run to its end, so each answer received reaches the cache): one that is not a call's failure first,
        so a bug is never recorded as a failed call."""
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if not isinstance(e, (CallFailed, UnreadableReply))), errors[0])

    def __enter__(self) -> CallGuard:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: TracebackType | None) -> bool:
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
