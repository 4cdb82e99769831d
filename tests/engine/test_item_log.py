"""`engine/item_log.py` driven directly: with many items in flight at once, each teacher call is counted on the
item that made it (a replayed item reports its own calls as cache hits in the manifest, no more, no fewer), and
a call made outside any item (a pre-query probe) is counted on none."""

from __future__ import annotations

import asyncio

from distill.engine.item_log import CURRENT, ItemLog, note_call


def test_calls_are_counted_on_the_item_that_made_them_while_items_interleave():
    logs = {i: ItemLog() for i in range(6)}

    async def item(i: int) -> None:
        CURRENT.set(logs[i])  # each task has its own context: this is what RunContext.map does per item
        for _ in range(i):
            note_call("teacher")
            await asyncio.sleep(0)  # the other items run in between
        if i % 2:
            note_call("judge")

    async def main() -> None:
        note_call("teacher")  # outside any item
        await asyncio.gather(*(item(i) for i in logs))

    asyncio.run(main())
    assert [log.calls.get("teacher", 0) for log in logs.values()] == [0, 1, 2, 3, 4, 5]
    assert [log.calls.get("judge", 0) for log in logs.values()] == [0, 1, 0, 1, 0, 1]
    assert CURRENT.get() is None
    assert logs[3].to_json() == {"events": [], "calls": {"teacher": 3, "judge": 1}}
