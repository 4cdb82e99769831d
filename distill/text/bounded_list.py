"""How many items of a generated list a recipe reads: what the prompt asked for, plus a small margin.

A reply is the teacher's to write: asked for 4 question/answer pairs it may send 2,000, and every item read
costs judge calls, records or rejection rows downstream (issue 29: 2,001 judge calls for one reply; 1,019,999
rejected rows from replies of 20,000 lines). Every recipe that reads a list out of a reply passes the parsed
items through `bounded`; the items past the bound are not read at all, and they are reported once per reply
(`Bounded.overflow`: one rejection row with the count), never one row per dropped item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Generic, TypeVar

T = TypeVar("T")

OVERFLOW_REASON = "more_items_than_asked"


def list_bound(asked: int) -> int:
    """The most items read from a list of `asked`: asked + max(2, asked // 5) (4 of 2, 9 of 7, 36 of 30). The
    margin keeps a reply that numbers one item twice or adds one more; nothing near it is a different reply."""
    asked = max(1, asked)
    return asked + max(2, asked // 5)


@dataclass(frozen=True)
class Bounded(Generic[T]):
    """The items read (at most `list_bound(asked)`, in the reply's order) and how many the reply held beyond."""
    items: list[T]
    asked: int
    dropped: int = 0

    def overflow(self) -> dict[str, Any] | None:
        """The detail of the one rejection row a reply that held too many items gets; None when it held few
        enough."""
        if not self.dropped:
            return None
        return {"asked": self.asked, "read": len(self.items), "dropped": self.dropped}


def bounded(items: Iterable[T], asked: int) -> Bounded[T]:
    """The first `list_bound(asked)` items, and the number of the rest (counted, not kept)."""
    it = iter(items)
    kept = list(islice(it, list_bound(asked)))
    return Bounded(kept, asked, sum(1 for _ in it))
