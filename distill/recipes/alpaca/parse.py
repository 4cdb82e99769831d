"""Parsing an Alpaca-style reply: items of `N. Instruction:`, `N. Input:`, `N. Output:`, separated by `###`.

Read as the reference code reads them (stanford_alpaca's `post_process_gpt3_response`): every item is an
instruction, an input and an output, in that order, or it is rejected whole. Items are found by their labels,
not only by `###`, so a reply that numbers every line and leaves the separators out still pairs each output with
its own instruction. The reply is cleaned first (`clean_list_reply`): a lead-in, a reasoning block, a whole-reply code
fence and closing remarks are not items, and markdown labels (`**4. Instruction:**`, `### Task 5`) are read as
plain ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from distill.text.reply_text import clean_list_reply, plain_labels, strip_emphasis

# "<noinput>", "< no - input >", "No input.", "None", "N/A": compared without whitespace, hyphens, case and a
# final full stop, so no regex backtracks over a run of spaces (the old pattern took 11 s on "< no" + 40,000)
NO_INPUT_FORMS = frozenset({"<noinput>", "noinput", "none", "n/a", "na"})
_LABEL = re.compile(r"^(?:(\d+)\. )?(instruction|input|output)[ \t]*(\d*):[ \t]?", re.MULTILINE | re.IGNORECASE)
# what ends an output besides the next label: a `###` or `---` separator, or a heading such as "### Task 5"
_SEPARATOR = re.compile(r"^[ \t]*(?:#{3,}|-{3,}|\*{3,})[ \t]*$|^(?:\d+\. )?(?:task|item|example)[ \t]*\d+:[ \t]*$",
                        re.MULTILINE | re.IGNORECASE)


_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]")  # "## Tasks" above the first item is a title


@dataclass(frozen=True)
class AlpacaItem:
    instruction: str
    input: str
    output: str


def parse_alpaca(reply: str, first_number: int) -> list[AlpacaItem | str]:
    """Items in order; an item that is not instruction, input, output in that order (or whose labels carry
    different numbers) comes back as its raw text, for the caller to reject as unparseable. The prompt leaves
    `N. Instruction:` open, so text before the first label is item N's instruction."""
    text = plain_labels(clean_list_reply(reply), r"instruction|input|output|task|item|example")
    marks = list(_LABEL.finditer(text))
    cut = marks[0].start() if marks else len(text)
    head = "\n".join(line for line in text[:cut].split("\n")
                     if not _HEADING.match(line) and not _SEPARATOR.fullmatch(line))
    if head.strip():
        text = f"{first_number}. Instruction: {head.strip()}\n{text[cut:]}"
        marks = list(_LABEL.finditer(text))
    groups: list[list[re.Match[str]]] = []
    for m in marks:
        if m.group(2).lower() == "instruction" or not groups:
            groups.append([])
        groups[-1].append(m)
    out: list[AlpacaItem | str] = []
    for k, group in enumerate(groups):
        end = groups[k + 1][0].start() if k + 1 < len(groups) else len(text)
        out.append(_item(text, group, end))
    return out


def _item(text: str, group: list[re.Match[str]], end: int) -> AlpacaItem | str:
    names = [m.group(2).lower() for m in group]
    numbers = {m.group(1) or m.group(3) for m in group} - {""}
    raw = text[group[0].start(): end].strip()
    if names != ["instruction", "input", "output"] or len(numbers) > 1:
        return _SEPARATOR.split(raw)[0].strip() if raw else raw
    values = [text[m.end(): group[i + 1].start() if i + 1 < len(group) else end] for i, m in enumerate(group)]
    values = [_SEPARATOR.split(v)[0].strip() for v in values]
    instruction = " ".join(strip_emphasis(values[0]).split())
    inp = "" if is_no_input(values[1]) else values[1]
    return AlpacaItem(instruction, inp, values[2])


def is_no_input(value: str) -> bool:
    """The input field says there is none ("<noinput>", "No input.", "N/A"). Linear: a length check first."""
    if len(value) > 200:
        return False
    return "".join(value.replace("-", " ").split()).lower().rstrip(".") in NO_INPUT_FORMS
