"""What one work item did, recorded while it runs: its outcomes (accepted / rejected records, pairs, counters,
failures — see `run/outcomes.py` for the event forms) and how many teacher calls it used.

The log is the contract between an item and the driver: the item only appends to its log, and when it finishes
the driver applies the events (`Outcomes.apply`). A finished item's log is also stored in the call cache under
a digest of the item and the run's configuration, so re-running a finished run replays each item's events
without re-rendering a prompt or re-reading an answer (`RunContext.map(..., memo=...)`).

The current item's log lives in a context variable: each work item sets its own, and the teacher and the
outcome recorder append to whatever log is current (none outside `map`: outcomes then apply at once).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

CURRENT: ContextVar[ItemLog | None] = ContextVar("distill_item_log", default=None)


class ItemLog:
    __slots__ = ("events", "calls", "failed", "given")

    def __init__(self, given: frozenset[str] = frozenset()) -> None:
        self.events: list[list[Any]] = []
        self.calls: dict[str, int] = {}
        self.failed = False  # the item ended with a failed call: it must run again next time, so it is not kept
        # the texts the user supplied for this item (an input row's instruction and input): the accept-time
        # artefact check (text/artefacts.py) does not hold a user's own "Question 1:" against a model
        self.given = given

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "calls": self.calls}


def given_texts() -> frozenset[str]:
    """The current item's user-supplied texts (empty outside a work item, or for items that are not input rows)."""
    log = CURRENT.get()
    return log.given if log is not None else frozenset()


def note_call(role: str) -> None:
    """A teacher call answered (from the network or the cache) on behalf of the current item."""
    log = CURRENT.get()
    if log is not None:
        log.calls[role] = log.calls.get(role, 0) + 1
