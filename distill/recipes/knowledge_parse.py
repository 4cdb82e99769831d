"""Parsing grounded QA replies (`Q1 [kind]: ...` / `A1: ...`), judge verdicts, and the verbatim-quote check."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distill.quality.replies import find_json_object


@dataclass(frozen=True)
class QAPair:
    kind: str
    question: str
    answer: str


def parse_pairs(reply: str) -> list[QAPair]:
    out = []
    pattern = re.compile(r"Q(\d+)\s*(?:\[([^\]]*)\])?\s*:\s*(.+?)\s*\n+\s*A\1\s*:\s*(.+?)(?=\n\s*Q\d+|\Z)", re.S)
    for m in pattern.finditer(reply):
        out.append(QAPair((m.group(2) or "").strip().lower(), " ".join(m.group(3).split()),
                          m.group(4).strip()))
    return out


CHECKS = ("supported", "standalone", "answerable")


def parse_checks(reply: str) -> dict[str, bool] | None:
    obj = find_json_object(reply)
    if obj is None:
        return None
    out = {}
    for key in CHECKS:
        value = str(obj.get(key, "")).strip().lower()
        if value not in ("yes", "no", "true", "false"):
            return None
        out[key] = value in ("yes", "true")
    return out


def quotes_chunk(answer: str, chunk: str, min_words: int = 4) -> bool:
    """RAFT-style check: the answer quotes at least one span of >= min_words words verbatim from the chunk."""
    norm_chunk = " ".join(chunk.split())
    for q in re.findall(r"\"([^\"]+)\"|“([^”]+)”|##begin_quote##(.+?)##end_quote##", answer, re.S):
        span = " ".join(next(x for x in q if x).split()).strip(" .")
        if len(span.split()) >= min_words and span in norm_chunk:
            return True
    return False
