"""Parsing question-answer pairs (`Q1 [kind]: ...` / `A1: ...`): knowledge_qa's grounded pairs and LAB's
knowledge leaves. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distill.text.reply_text import clean_list_reply, plain_labels, strip_emphasis


@dataclass(frozen=True)
class QAPair:
    kind: str
    question: str
    answer: str


_QA_LABELS = r"q|a|question|answer"
_QA = re.compile(r"^(?:\d+\. )?(q|question|a|answer)[ \t]*(?:(\d+)[ \t]*)?(?:\[([^\]\n]*)\]|\(([^)\n]*)\))?:[ \t]?",
                 re.MULTILINE | re.IGNORECASE)

_LATE_KIND = re.compile(r"\[([^\]\n]{1,40})\][ \t]*:?[ \t]*|"  # "Q1: [factual] When ...?"
                        r"\(([^)\n]{1,40})\)[ \t]*:[ \t]*")  # "(factual): When": a colon, or "(Roughly)" is prose


def parse_pairs(reply: str) -> list[QAPair]:
    """`Q1 [factual]: When ...?` / `A1: It ...` pairs (also `Question 1:` / `Answer 1:`, unnumbered `Q:` / `A:`,
    the kind in parentheses or after the colon (`Q1: [factual] When ...?`), and markdown-dressed labels). An
    answer runs to the next question. Linear in the reply's length: labels are found line by line, never by
    backtracking across runs of blank lines."""
    text = plain_labels(clean_list_reply(reply), _QA_LABELS)
    marks = list(_QA.finditer(text))
    out = []
    for k, m in enumerate(marks[:-1]):
        nxt = marks[k + 1]
        if m.group(1).lower() not in ("q", "question") or nxt.group(1).lower() not in ("a", "answer"):
            continue
        if m.group(2) and nxt.group(2) and m.group(2) != nxt.group(2):
            continue  # Q1 followed by A2: not a pair
        end = marks[k + 2].start() if k + 2 < len(marks) else len(text)
        question = " ".join(strip_emphasis(text[m.end(): nxt.start()]).split())
        answer = text[nxt.end(): end].strip()
        kind = (m.group(3) or m.group(4) or "").strip().lower()
        late = _LATE_KIND.match(question)
        if late and not kind:  # "Q1: [factual] When ...": the kind written after the colon
            kind, question = (late.group(1) or late.group(2)).strip().lower(), question[late.end():]
        if question and answer:
            out.append(QAPair(kind, question, answer))
    return out
