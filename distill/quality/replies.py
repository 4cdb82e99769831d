"""Reading a judge's reply. JSON first (fenced or bare, anywhere in the text), then the free-text forms judges
commonly use ("Score: 7", "[[7]]", "[RESULT] 7", "Rating: 7"). Anything else is `Unparseable` — which the gate
records as a rejection with the raw reply, never as an accept."""

from __future__ import annotations

import json
import re
from typing import Any


class Unparseable(ValueError):
    pass


class UnreadableReply(Exception):
    """A judge or reward model answered, but not in a form we can read. The record is rejected with `reason`
    ("judge_unparseable", "reward_unparseable") and the raw reply is kept in rejected.jsonl."""

    def __init__(self, reason: str, message: str, raw: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.raw = raw


_SCORE_PATTERNS = [r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]", r"\[RESULT\]\s*(\d+(?:\.\d+)?)",
                   r"(?:score|rating)\s*[:=]\s*(\d+(?:\.\d+)?)"]
_WINNER_PATTERNS = [r"\[\[\s*(A|B|C|tie)\s*\]\]", r"\[RESULT\]\s*(A|B|tie)", r"winner\s*[:=]\s*\"?(A|B|tie)\b"]


def find_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` that parses, or None."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            obj, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def parse_score(text: str, scale: tuple[int, int]) -> tuple[float, str]:
    """(score, rationale) from a pointwise judge reply; raises Unparseable if absent or off the scale."""
    obj = find_json_object(text)
    score: Any = None
    rationale = ""
    if obj is not None and "score" in obj:
        score, rationale = obj["score"], str(obj.get("rationale", ""))
    else:
        for pattern in _SCORE_PATTERNS:
            m = re.search(pattern, text, re.I)
            if m:
                score, rationale = m.group(1), text[: m.start()].strip()
                break
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise Unparseable("no score in the judge's reply") from None
    if not scale[0] <= value <= scale[1]:
        raise Unparseable(f"score {value:g} is outside the rubric's scale {scale[0]}-{scale[1]}")
    return value, rationale


def parse_winner(text: str) -> tuple[str, str]:
    """("A" | "B" | "tie", rationale) from a pairwise judge reply; raises Unparseable otherwise."""
    obj = find_json_object(text)
    if obj is not None and "winner" in obj:
        winner, rationale = str(obj["winner"]).strip(), str(obj.get("rationale", ""))
    else:
        for pattern in _WINNER_PATTERNS:
            m = re.search(pattern, text, re.I)
            if m:
                winner, rationale = m.group(1), text[: m.start()].strip()
                break
        else:
            raise Unparseable("no winner in the judge's reply")
    norm = {"a": "A", "b": "B", "tie": "tie", "c": "tie"}.get(winner.lower())
    if norm is None:
        raise Unparseable(f"winner {winner!r} is not A, B or tie")
    return norm, rationale
