"""JSON from a model's reply, decoded without letting the reply crash the reader: deep nesting (Python's decoder
recurses: RecursionError), a 5,000-digit integer (int() refuses 4,300+ digits: ValueError), `NaN` / `Infinity`
(read as None) all give None or a bounded value instead of an exception."""

from __future__ import annotations

import json
from typing import Any


def _bounded_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= 30 else float(digits)  # Python refuses int() of 4,300+ digits


def _constant(name: str) -> None:
    return None


def decode_json(text: str) -> Any:
    """The JSON value `text` holds, or None when it is not JSON (or nests too deep)."""
    try:
        return json.loads(text, parse_int=_bounded_int, parse_constant=_constant)
    except (ValueError, RecursionError):
        return None


_PREFIX = json.JSONDecoder(parse_int=_bounded_int, parse_constant=_constant)


def decode_json_prefix(text: str) -> tuple[Any] | None:
    """The JSON value `text` begins with (text may follow it), in a 1-tuple (null is a value too); None when it
    begins with no JSON value."""
    try:
        value, _ = _PREFIX.raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return (value,)
