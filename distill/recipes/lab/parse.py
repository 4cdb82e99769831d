"""Parsing LAB's generation replies: the new contexts of a grounded skill (`Context N:` blocks) and the
numbered questions of a skill. The reply is cleaned first (`clean_list_reply`), so a lead-in, a reasoning block, a
whole-reply code fence and closing remarks never become a context or a question, and markdown headers
(`**Context 1:**`, `### Context 2`) split like plain ones."""

from __future__ import annotations

import re

from distill.recipes.shared.numbered_list_parse import parse_numbered
from distill.text.reply_text import clean_list_reply, plain_labels

# what stands where a header's number goes: "Context 2", "Context #2", "Context Two", or the letter a model
# copied from an older prompt ("Context N:", issue #35) — still a header, never part of a context
_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_HEADER = rf"context(?:[ \t]+(?:{_NUMBER_WORDS}|[a-z])(?![a-z]))?"
_CONTEXT = re.compile(rf"^(?:\d+\. )?{_HEADER}(?:[ \t]*#?\d+)?:[ \t]?", re.MULTILINE | re.IGNORECASE)


def parse_contexts(reply: str) -> list[str]:
    """The contexts in order. Text before the first `Context 1:` header is not a context; a reply with no
    header at all is one context (a teacher asked for one at a time). A header may carry its number as digits,
    `#2`, a word ("Context Two:") or a letter ("Context N:"), and the context may start on the header's line."""
    text = plain_labels(clean_list_reply(reply), _HEADER)
    marks = list(_CONTEXT.finditer(text))
    if not marks:
        return [text] if text else []
    out = []
    for k, m in enumerate(marks):
        body = text[m.end(): marks[k + 1].start() if k + 1 < len(marks) else len(text)].strip()
        if body:
            out.append(body)
    return out


def parse_questions(reply: str) -> list[str]:
    """A skill's new questions: a numbered list starting at 1."""
    return parse_numbered(reply, 1)
