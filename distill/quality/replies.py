"""Reading a judge's reply. JSON first (fenced or bare, anywhere in the text), then the free-text forms judges
commonly use ("Score: 7", "[[7]]", "[RESULT] 7", "Rating: 7"). Anything else is `Unparseable` — which the gate
records as a rejection with the raw reply, never as an accept.

Every reader here is total and linear in the reply: a reply longer than MAX_REPLY_CHARS is unreadable, JSON is
looked for in one pass over the brackets (objects nested deeper than MAX_JSON_DEPTH are skipped, at most
MAX_JSON_TRIES candidates are decoded), numbers with more than a few digits are not scores, and every pattern
has bounded repetition. A reply cannot crash a run, and replaying it from the cache cannot either."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from distill.text.json_text import decode_json

MAX_REPLY_CHARS = 100_000  # judge replies are a few hundred tokens; anything this long is not a verdict
MAX_JSON_DEPTH = 32
MAX_JSON_TRIES = 64


class Unparseable(ValueError):
    pass


class UnreadableReply(Exception):
    """A judge or reward model answered, but not in a form we can read. The record is rejected with `reason`
    ("judge_unparseable", "reward_unparseable") and the raw reply is kept in rejected.jsonl."""

    def __init__(self, reason: str, message: str, raw: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.raw = raw


_NUMBER = r"(\d{1,4}(?:\.\d{1,4})?)(?![\d.]*\d)"
_SCORE_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\[\[ {0,8}" + _NUMBER + r" {0,8}\]\]", r"\[RESULT\]\s{0,8}" + _NUMBER,
    r"\b(?:score|rating)[*_]{0,2}\s{0,8}[:=]\s{0,8}[*_]{0,2}\s{0,8}" + _NUMBER)]  # **Score:** 7 too
_WINNER_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\[\[ {0,8}(A|B|C|tie) {0,8}\]\]", r"\[RESULT\]\s{0,8}(A|B|tie)\b",
    r"\bwinner[*_]{0,2}\s{0,8}[:=]\s{0,8}[*_]{0,2}\s{0,8}\"?(A|B|tie)\b")]
_STRUCTURE = re.compile(r'\\.|["{}\[\]]', re.DOTALL)
_CLOSES = {"}": "{", "]": "["}


def find_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` that parses (outermost first), or None. Linear in `text`; never raises."""
    if len(text) > MAX_REPLY_CHARS:
        return None
    tries = 0
    for strings in (True, False):  # a stray quote can hide an object from the string-aware pass
        for start, end in _objects(text, strings):
            tries += 1
            if tries > MAX_JSON_TRIES:
                return None
            obj = decode_json(text[start:end])
            if isinstance(obj, dict):
                return obj
    return None


def _objects(text: str, strings: bool) -> list[tuple[int, int]]:
    """(start, end) of every balanced `{...}` no deeper than MAX_JSON_DEPTH, in order of start. One pass over the
    brackets; with `strings`, brackets inside JSON strings (between quotes, inside braces) do not count."""
    found: list[tuple[int, int]] = []
    stack: list[list[Any]] = []  # [opening char, start, height of the deepest bracket inside]
    open_count = {"{": 0, "[": 0}
    in_string = False
    for m in _STRUCTURE.finditer(text):
        tok = m.group(0)
        if tok[0] == "\\":
            continue
        if tok == '"':
            in_string = strings and bool(stack) and not in_string
            continue
        if in_string:
            continue
        if tok in open_count:
            stack.append([tok, m.start(), 0])
            open_count[tok] += 1
            continue
        want = _CLOSES[tok]
        if not open_count[want]:
            continue  # a closer with no opener: prose
        while stack:
            frame = stack.pop()
            open_count[frame[0]] -= 1
            height = frame[2] + 1
            if stack:
                stack[-1][2] = max(stack[-1][2], height)
            if frame[0] == want:
                if want == "{" and height <= MAX_JSON_DEPTH:
                    found.append((frame[1], m.end()))
                break
    found.sort()
    return found


def as_score(value: Any) -> float | None:
    """A judge's score as a finite number: ints, floats and short numeric strings; never a bool, NaN or inf."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 10**15 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 32 and re.fullmatch(r"\s*-?\d{1,6}(?:\.\d{1,6})?\s*", value):
        return float(value)
    return None


def _too_long(text: str) -> None:
    if len(text) > MAX_REPLY_CHARS:
        raise Unparseable(f"the reply is {len(text):,} characters long (more than {MAX_REPLY_CHARS:,})")


def parse_score(text: str, scale: tuple[int, int]) -> tuple[float, str]:
    """(score, rationale) from a pointwise judge reply; raises Unparseable if absent or off the scale."""
    _too_long(text)
    obj = find_json_object(text)
    if obj is not None and "score" in obj:
        value, rationale = as_score(obj["score"]), obj.get("rationale", "")
        if value is None:
            raise Unparseable(f"the score {str(obj['score'])[:40]!r} is not a number")
        rationale = rationale if isinstance(rationale, str) else json.dumps(rationale)
    else:
        for pattern in _SCORE_PATTERNS:
            m = pattern.search(text)
            if m:
                value, rationale = float(m.group(1)), text[: m.start()].strip()
                break
        else:
            raise Unparseable("no score in the judge's reply")
    if not scale[0] <= value <= scale[1]:
        raise Unparseable(f"score {value:g} is outside the rubric's scale {scale[0]}-{scale[1]}")
    return value, rationale


def parse_winner(text: str) -> tuple[str, str]:
    """("A" | "B" | "tie", rationale) from a pairwise judge reply; raises Unparseable otherwise."""
    _too_long(text)
    obj = find_json_object(text)
    if obj is not None and "winner" in obj:
        winner, rationale = obj["winner"], obj.get("rationale", "")
        winner = winner.strip() if isinstance(winner, str) else ""
        rationale = rationale if isinstance(rationale, str) else json.dumps(rationale)
    else:
        for pattern in _WINNER_PATTERNS:
            m = pattern.search(text)
            if m:
                winner, rationale = m.group(1), text[: m.start()].strip()
                break
        else:
            raise Unparseable("no winner in the judge's reply")
    norm = {"a": "A", "b": "B", "tie": "tie", "c": "tie"}.get(winner.lower())
    if norm is None:
        raise Unparseable(f"winner {winner[:40]!r} is not A, B or tie")
    return norm, rationale
