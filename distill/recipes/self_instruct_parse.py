"""Parsing self-instruct's teacher replies: the numbered continuation of the task list, and the generated
instances (input-first `Example N` blocks, or output-first `Class label:` blocks). Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ITEM = re.compile(r"(?:^|\n)\s*(\d+)\s?\.\s*")


def parse_numbered(reply: str, first_number: int) -> list[str]:
    """Items of a numbered list that continues at `first_number` (the prompt left "N." open, so the reply may
    or may not repeat it). A final item cut off mid-line is kept; the caller drops whole replies that hit the
    length limit, as the paper does."""
    text = reply.lstrip()
    if not _ITEM.match(text):
        text = f"{first_number}. {text}"
    parts = _ITEM.split(text)
    # parts: ["", num, body, num, body, ...]
    items = []
    for body in parts[2::2]:
        body = body.strip()
        if body:
            items.append(body)
    return items


@dataclass(frozen=True)
class RawInstance:
    input: str
    output: str


def parse_input_first(reply: str) -> list[RawInstance]:
    """`Example 1\\nInput: ...\\nOutput: ...` blocks (Input may be absent for tasks that need none)."""
    out = []
    for block in re.split(r"(?:^|\n)\s*Example\s*\d+\s*:?\s*", reply):
        if not block.strip():
            continue
        head, sep, tail = block.partition("Output:")
        if not sep:
            continue
        inp = re.sub(r"^\s*Input\s*:\s*", "", head.strip()).strip()
        out.append(RawInstance(inp, tail.strip()))
    return out


def parse_output_first(reply: str) -> list[RawInstance]:
    """`Class label: X\\nInput: ...` blocks: the label is the output; what follows is the input."""
    out = []
    for block in re.split(r"(?:^|\n)\s*Class label\s*:\s*", "\n" + reply)[1:]:
        label, _, rest = block.strip().partition("\n")
        inp = re.sub(r"^\s*Input\s*:\s*", "", rest.strip()).strip()
        out.append(RawInstance(inp, label.strip()))
    return out


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
