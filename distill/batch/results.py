"""The batch results reader: each line of a provider's JSONL results file (split and size-capped as it streams in
by `providers.bounded_body.LineReader`, in `wire.read_results`) read so that one bad line never costs the others —
a results file is paid for.

Guarantees, whatever the file holds (it never raises for its content; only the download itself may fail):

- every line that is a JSON object is read by the backend's `entry` and yielded as what it holds: an answer or
  the provider's `BatchItemError`;
- a JSON object that `entry` cannot read (a `response` that is the string "oops", a field of the wrong type)
  yields an `unreadable` failed entry for the request its `custom_id` names: it goes into the next batch;
- a line that is not JSON (one cut off where the download or the file ended) or JSON but no object (`[1,2,3]`)
  names no request for sure: it yields an `unreadable` entry under the custom_id "" (which names no call); the
  request it held, if any, is one the results do not mention, which the dispatcher sends again as well.

Every `unreadable` entry's message says which line of the file it was and why, for the run's messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from distill.batch.backend import BatchItemError, BatchResult

UNREADABLE = "unreadable"  # the kind of a failed entry made from a line of the results file that could not be read


def unreadable(custom_id: str, number: int, why: str) -> BatchResult:
    return custom_id, BatchItemError(UNREADABLE, f"line {number} of the results file {why}", retry=True)


def read_line(line: bytes, number: int, entry: Callable[[dict[str, Any]], BatchResult]) -> BatchResult:
    """What line `number` of a results file holds, as the module says: never raises."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return unreadable("", number, "is not JSON (cut off?)")
    if not isinstance(row, dict):
        return unreadable("", number, f"is JSON but no result (a {type(row).__name__})")
    custom_id = row.get("custom_id")
    custom_id = custom_id if isinstance(custom_id, str) else ""
    try:
        return entry(row)
    except Exception as exc:  # a field of a type the API never sends: this line's request goes again
        return unreadable(custom_id, number, f"holds a result that cannot be read ({type(exc).__name__}: {exc})")
