"""Parsing a reply that is one rewritten text: an evolved instruction (Evol-Instruct), an easier or new math
problem (Evol-Instruct's math set, math_qa's augmentation). Chat models wrap it: a lead-in ("Here is the
rewritten prompt:"), a label echoing the request (`#Rewritten Prompt#:`, `**New Problem:**`, `## Rewritten
Prompt`), quotes, a code fence, and an explanation or remark after it ("This version adds ..."). What remains is
the text itself, as written."""

from __future__ import annotations

import re

from distill.text.reply_text import (
    clean_reply,
    drop_lead_in,
    drop_remarks,
    strip_emphasis,
)

_QUALIFIER = (r"(?:rewritten|new|created|evolved|revised|updated|modified|harder|easier|more (?:difficult|complex|"
              r"challenging)|simpler|final|improved|complicated|deepened|broadened)")
_NOUN = r"(?:prompt|problem|task|instruction|question|version|math problem|word problem|programming task)"
# a label line (or a label before the text on the same line): "#Rewritten Prompt#:", "**New problem:**", "Problem:"
_LABEL = re.compile(rf"^[ \t>#*_]*(?:{_QUALIFIER}[ \t]+)?{_NOUN}[ \t#*_]*(?::|$)", re.IGNORECASE | re.MULTILINE)
_AFTER = re.compile(r"^[ \t>#*_]*(?:explanation|rationale|changes?(?: made)?|what (?:changed|i changed)|"
                    r"why (?:it|this) "
                    r"is (?:harder|easier|more \w+)|note|notes|difficulty|reasoning|key changes)[ \t*_]*:?",
                    re.IGNORECASE | re.MULTILINE)
_THIS = re.compile(r"^[ \t*_]*(?:this|the) (?:rewritten |new |revised |evolved |updated |harder |easier )?"
                   r"(?:version|rewrite|prompt|problem|task|instruction|question) (?:adds|now|introduces|requires|"
                   r"increases|makes|keeps|changes|is|has|asks|involves|raises)\b", re.IGNORECASE)
_ENUMERATOR = re.compile(r"^\s*1[.)][ \t]+")


def parse_rewrite(reply: str) -> str:
    """The rewritten text alone; "" when nothing is left."""
    text = clean_reply(reply)
    for _ in range(3):  # a label line, a lead-in under it, a fence inside: peel until nothing changes
        before = text
        m = _LABEL.match(text)
        if m:
            text = text[m.end():].lstrip(" \t*_").strip()
        text = clean_reply(drop_remarks(drop_lead_in(text)))
        if text == before:
            break
    paragraphs = re.split(r"\n[ \t]*\n", text)
    for k in range(1, len(paragraphs)):  # an explanation after the text
        if _AFTER.match(paragraphs[k]) or _THIS.match(paragraphs[k]):
            text = "\n\n".join(paragraphs[:k]).strip()
            break
    if _ENUMERATOR.match(text) and not re.search(r"^[ \t]*2[.)][ \t]", text, re.MULTILINE):
        text = _ENUMERATOR.sub("", text, count=1)
    if "\n" not in text:
        text = strip_emphasis(text).strip()
        if len(text) >= 2 and text[0] + text[-1] in ('""', "“”", "''"):
            text = text[1:-1].strip()
    return text
