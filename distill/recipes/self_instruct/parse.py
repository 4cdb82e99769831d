"""Parsing self-instruct's teacher replies: the numbered continuation of the task list, and the generated
instances (input-first `Example N` blocks, or output-first `Class label:` blocks). Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distill.quality.replies import UnreadableReply
from distill.text.reply_text import (
    clean_list_reply,
    is_lead_in,
    plain_labels,
    split_reasoning,
    strip_emphasis,
)

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


@dataclass(frozen=True)
class RawInstance:
    input: str
    output: str


_INSTANCE_LABELS = r"example|instance|input|output|class label|label"
_LABEL = re.compile(r"^(?:\d+\. )?(example|instance|input|output|class label|label)[ \t]*(\d*):[ \t]?",
                    re.MULTILINE | re.IGNORECASE)


def _labels(reply: str) -> tuple[str, list[tuple[str, re.Match[str]]]]:
    text = plain_labels(clean_list_reply(reply), _INSTANCE_LABELS)
    return text, [(m.group(1).lower(), m) for m in _LABEL.finditer(text)]


def _value(text: str, marks: list[tuple[str, re.Match[str]]], k: int) -> str:
    end = marks[k + 1][1].start() if k + 1 < len(marks) else len(text)
    return text[marks[k][1].end(): end].strip()


def parse_input_first(reply: str) -> list[RawInstance]:
    """`Example 1\\nInput: ...\\nOutput: ...` blocks (Input may be absent for tasks that need none), read as
    the paper's code reads them: `Output N:` is an output label too, and an output ends at the next `Input:`.
    Example headers are optional: a new instance starts at a header, or at an Input or Output label once the
    current instance has its output."""
    text, marks = _labels(reply)
    out: list[RawInstance] = []
    inp: str | None = None
    outp: str | None = None

    def close() -> None:
        if outp is not None:
            out.append(RawInstance(inp or "", outp))

    for k, (label, _m) in enumerate(marks):
        if label in ("example", "instance") or (label in ("input", "output") and outp is not None):
            close()
            inp = outp = None
        if label == "input":
            inp = _value(text, marks, k)
        elif label == "output":
            outp = _value(text, marks, k)
    close()
    return out


def parse_output_first(reply: str) -> list[RawInstance]:
    """`Class label: X\\nInput: ...` blocks: the label is the output; what follows is the input."""
    text, marks = _labels(reply)
    out: list[RawInstance] = []
    for k, (label, _m) in enumerate(marks):
        if label not in ("class label", "label"):
            continue
        value = _value(text, marks, k)
        first, _, rest = value.partition("\n")
        inp = ""
        if k + 1 < len(marks) and marks[k + 1][0] == "input":
            inp = _value(text, marks, k + 1)
        elif rest.strip():
            inp = rest.strip()  # the paper's form: the input on the lines under the label, unlabelled
        out.append(RawInstance(inp, first.strip()))
    return out


# "Yes", or a short label then the verdict ("Decision: No", "Answer: yes": what small models write first)
_VERDICT = re.compile(r"(?:[a-z][a-z ]{0,30}:[ \t]{0,5})?(yes|no)(?![a-z])", re.IGNORECASE)
UNREADABLE_VERDICT = "unreadable_verdict"


def read_verdict(reply: str, finish_reason: str | None) -> bool:
    """The classification verdict as a bool: "Yes" ("**Yes.**", "yes, it is one", "Decision: Yes") is True, "No" is
    False. Any
    other reply (one cut off at the 3-token limit, "Decision:"; an echo of the question) raises UnreadableReply
    with reason "unreadable_verdict": it is counted as a rejection, never read as "no"."""
    m = _VERDICT.match(strip_emphasis(split_reasoning(reply)[0]).lstrip(" \t\r\n\"'#>`"))
    if m is not None:
        return m.group(1).lower() == "yes"
    cut = ", cut off at the token limit" if finish_reason == "length" else ""
    raise UnreadableReply(UNREADABLE_VERDICT, f"the classification verdict is neither yes nor no{cut}", reply[:400])


def instance_rejection(inst: RawInstance) -> str | None:
    if not inst.output.strip():
        return "empty_output"
    if inst.input.strip() == inst.output.strip():
        return "input_equals_output"
    if inst.input.rstrip().endswith(":") or inst.output.rstrip().endswith(":"):
        return "truncated_colon"
    return None


def conflicting(instances: list[RawInstance]) -> bool:
    """Two instances with the same non-empty input and different outputs: the paper drops the whole task."""
    seen: dict[str, str] = {}
    for inst in instances:
        if inst.input and seen.setdefault(inst.input, inst.output) != inst.output:
            return True
    return False
