"""Parsing a numbered list a reply continues (`9. ...`, `Task 10: ...`, markdown-dressed numbers): self-instruct's
bootstrap list and LAB's questions. Pure functions."""

from __future__ import annotations

import re

from distill.text.reply_text import clean_list_reply, is_lead_in, strip_emphasis

_ITEM_WORD = re.compile(r"(?:task|instruction|question|item|prompt)(?![a-z])[ \t]*#?(?=\d)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]")
_TITLE = re.compile(r"^\*\*([^*\n]{1,60}?)(?::\*\*|\*\*:)\s+(?=\S+\s+\S+\s+\S)")  # "**Haiku:** Write a ..."


def item_start(line: str) -> tuple[int, str] | None:
    """(number, rest of the line) when the line starts a numbered list item: "9. ", "9) ", "**9.** ", "### 9. ",
    "Task 9: ", "**Task 9:**", "### Task 9"; None otherwise ("3.14 is pi", "10 apples"). No backtracking."""
    s = line.lstrip(" \t").lstrip("#").lstrip(" \t").lstrip("*_").lstrip(" \t")
    worded = _ITEM_WORD.match(s)
    if worded:
        s = s[worded.end():]
    m = _NUMBER.match(s)
    if m is None:
        return None
    rest = s[m.end():].lstrip(" \t*_")
    if rest[:1] in (".", ")", ":"):
        rest = rest[1:].lstrip("*_")  # "**9.** ": the number's own emphasis closes
    elif not worded:
        return None
    if rest[:1] not in ("", " ", "\t"):
        return None
    return int(m.group()), rest.lstrip(" \t")


def parse_numbered(reply: str, first_number: int) -> list[str]:
    """Items of a numbered list that continues at `first_number` (the prompt left "N." open, so the reply may
    or may not repeat it), as one-line plain text. The reply is cleaned first (`clean_list_reply`): a lead-in, a
    reasoning block, a code fence and closing remarks are not items; text before the first number is the
    continued item only when it is not a lead-in and no item carries `first_number` itself. A final item cut off
    mid-line is kept; the caller drops whole replies that hit the length limit, as the paper does."""
    head: list[str] = []
    bodies: list[list[str]] = []
    numbers: list[int] = []
    for line in clean_list_reply(reply).split("\n"):
        start = item_start(line)
        if start is not None:
            numbers.append(start[0])
            bodies.append([start[1]])
        elif bodies:
            bodies[-1].append(line)
        elif not _HEADING.match(line):  # "## More tasks" above the list is a title, not the continued item
            head.append(line)
    if any(x.strip() for x in head) and first_number not in numbers[:1] and not is_lead_in(
            next(x for x in head if x.strip())):
        bodies.insert(0, head)
    items = []
    for lines in bodies:
        body = _TITLE.sub("", "\n".join(lines).strip())
        body = " ".join(strip_emphasis(body).split())
        if body:
            items.append(body)
    return items
