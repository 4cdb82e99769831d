"""Fields of a provider's JSON answer about a batch (a poll, a batch object), read without trusting their types:
what a real API never sends (an answer that is a list, counts that are strings) reads as absent, never as a
crash, so a batch the answer cannot be read about is looked at again later instead of being lost or sent again."""

from __future__ import annotations

from typing import Any


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def count(value: Any) -> int:
    """A request count: a non-negative whole number, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def word(value: Any) -> str | None:
    """A status word: a non-empty string, else None (no status)."""
    return value if isinstance(value, str) and value else None


def ident(value: Any) -> str | None:
    """The `id` of a JSON object the provider sent: a non-empty string, else None."""
    return word(obj(value).get("id"))
