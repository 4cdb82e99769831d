"""The reply guard: whatever a reader raises while turning one received reply into data rejects that item; it
never ends the run.

    with reading(raw):                                   # a judge, a reward model: raises UnreadableReply
        score, rationale = parse_score(raw, scale)

    with ctx.reading(order, "generate", item, raw) as read:    # a recipe: rejects `item` itself
        pairs = parse_pairs(raw)
    if read.stopped:
        return

Guarantee: an exception raised inside the block (an `OverflowError` comparing answers, a `RecursionError` on a
deeply nested reply, an `IndexError` of a parser) becomes `UnreadableReply` with reason = the exception's class
name (`OverflowError`), its one-line message as detail, and the first RAW_KEPT_CHARS characters of the reply as
raw; `ctx.guard` / `ctx.call` / `ctx.reading` record that as the item's rejection and the run goes on. A cached
reply is read by the same code, so a re-run rejects the same item the same way (0 calls) instead of crashing
again. Not converted: `UnreadableReply` itself (it keeps its own reason), a call's failure (`CallFailed`), errors
distill explains to the user (`DistillError`) and non-`Exception`s (Ctrl+C, cancellation). Only code inside
the block is guarded: an exception of a user's recipe outside it still ends the run (run/recipe_errors.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from distill.engine.call_failure import CallFailed
from distill.errors import DistillError
from distill.quality.replies import UnreadableReply

RAW_KEPT_CHARS = 4_000  # of the reply, in rejected.jsonl: enough to see what it was, bounded whatever it was


def unreadable(exc: BaseException, raw: str) -> UnreadableReply | None:
    """What `exc`, raised while reading `raw`, means for the item: an `UnreadableReply` (rejected with the
    exception's class name as reason), or None when it is not the reply's doing and must go through."""
    if isinstance(exc, UnreadableReply):
        return exc
    if not isinstance(exc, Exception) or isinstance(exc, (CallFailed, DistillError)):
        return None
    message = " ".join(f"{type(exc).__name__}: {exc}"[:2_000].split()).rstrip(":")[:600]
    return UnreadableReply(type(exc).__name__, f"reading the reply raised {message}", raw[:RAW_KEPT_CHARS])


@contextmanager
def reading(raw: str) -> Iterator[None]:
    """Run the block as the reading of reply `raw`: an exception it raises comes out as `UnreadableReply`
    (see `unreadable`)."""
    try:
        yield
    except Exception as exc:
        converted = unreadable(exc, raw)
        if converted is None or converted is exc:
            raise
        raise converted from exc
