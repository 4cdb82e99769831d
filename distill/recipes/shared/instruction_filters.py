"""Self-instruct's instruction filters (in the paper's code order), each returning a named rejection reason.
Alpaca's variant adds words to the blacklist. The ROUGE-L novelty check is separate (text/rouge_novelty.py)."""

from __future__ import annotations

import re
import string

SELF_INSTRUCT_BLACKLIST = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map",
                           "maps", "draw", "plot", "go to")
ALPACA_EXTRA_BLACKLIST = ("video", "audio", "music", "flowchart", "diagram")


def clean_instruction(text: str, capitalize_quirk: bool = False) -> str:
    """Collapse whitespace, strip a trailing colon, upper-case the first letter. The paper's code used
    str.capitalize(), which also lower-cases everything after the first letter (mangling "SQL", "Python");
    `capitalize_quirk=True` reproduces that."""
    text = re.sub(r"\s+", " ", text).strip().rstrip(":").strip()
    if not text:
        return text
    return text.capitalize() if capitalize_quirk else text[0].upper() + text[1:]


def instruction_rejection(text: str, *, min_words: int = 3, max_words: int = 150,
                          blacklist: tuple[str, ...] = SELF_INSTRUCT_BLACKLIST) -> str | None:
    """The reason `text` fails a filter, or None. Applied to a cleaned instruction."""
    words = text.split()
    if len(words) <= min_words:
        return "too_few_words"
    if len(words) > max_words:
        return "too_many_words"
    lowered = text.lower()
    for word in blacklist:
        if re.search(rf"\b{re.escape(word)}\b", lowered):
            return f"blacklist:{word}"
    if text.startswith("Write a program"):
        return "write_a_program"
    if text[0] in string.punctuation:
        return "starts_with_punctuation"
    if not text[0].isascii():
        return "non_ascii_start"
    return None
