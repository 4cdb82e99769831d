"""What one work item did, recorded while it runs: its outcomes (accepted / rejected records, pairs) and how
many teacher calls it used. A finished item's log is stored in the call cache under a digest of the item and the
run's configuration, so re-running a finished run replays each item's outcomes without re-rendering a prompt or
re-reading an answer (`RunContext.map(..., memo=...)`).

The current item's log lives in a context variable: each sliding-window task sets its own, and the teacher and
the run context append to whatever log is current (none outside `map`).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

CURRENT: ContextVar["ItemLog | None"] = ContextVar("distill_item_log", default=None)


class ItemLog:
    __slots__ = ("events", "calls", "failed")

    def __init__(self) -> None:
        self.events: list[list[Any]] = []
        self.calls: dict[str, int] = {}
        self.failed = False

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "calls": self.calls}


def note_call(role: str) -> None:
    """A teacher call answered (from the network or the cache) on behalf of the current item."""
    log = CURRENT.get()
    if log is not None:
        log.calls[role] = log.calls.get(role, 0) + 1


def note_event(*event: Any) -> None:
    log = CURRENT.get()
    if log is not None:
        log.events.append(list(event))


def note_failure() -> None:
    """The item ended with a failed call: it must run again next time, so its log is not kept."""
    log = CURRENT.get()
    if log is not None:
        log.failed = True
