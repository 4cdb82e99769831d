"""Parsing self-instruct's generated instances (input-first `Example N` blocks, or output-first `Class label:`
blocks) and checking them. Pure functions. The numbered task list is read by shared/numbered_list_parse.py, the
classification verdict by shared/yes_no_verdict.py."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distill.text.reply_text import clean_list_reply, plain_labels


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
