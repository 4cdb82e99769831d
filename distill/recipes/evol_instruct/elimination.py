"""Evol-Instruct's elimination rules (WizardLM, section 3.3), as pure functions returning a rejection reason.

1. no information gain: an LLM comparison says the evolved instruction equals its parent ("equal_to_parent");
2. the answer is a refusal: contains "sorry" and is shorter than 80 words ("refusal_answer");
3. the answer is only punctuation and stop words ("stopwords_only_answer");
4. the evolved instruction copies words of the evolving prompt ("copied_prompt_words").

Ours, on what small teachers write instead of a rewrite (`evolution_rejection`, before any other call): an
accept-time artefact (text/artefacts.py: a label alone, an echo of the prompt, talk of "the prompt that must be
rewritten", ...), so the chain never goes on from it; text about the rewriting task itself, made of the
directions' words rather than the instruction's ("about_the_rewrite", text/directions.py: at least
META_STEMS stems from the directions, more than it keeps of the instruction); and a bare list, such as writing
tips, where the instruction was not one ("list_not_instruction": every line a list item, no question).
"""

from __future__ import annotations

import re

from distill.text.artefacts import artefact_problem
from distill.text.directions import borrowed
from distill.text.stopwords import STOP_WORDS

META_STEMS = 3  # stems of the directions, absent from the instruction, that make a rewrite talk about itself
_ITEM = re.compile(r"[ \t]{0,8}(?:[-*\u2022+]|\(?\d{1,3}[.):]|\(?[a-z][.)])[ \t]", re.IGNORECASE)

PROMPT_WORDS = ("#the given prompt#", "#rewritten prompt#", "#given prompt#", "#created prompt#", "given prompt",
                "rewritten prompt", "created prompt", "original prompt", "new prompt", "rewrite the prompt")


def copied_prompt_words(instruction: str) -> str | None:
    lowered = instruction.lower()
    for phrase in PROMPT_WORDS:
        if phrase in lowered:
            return "copied_prompt_words"
    return None


def evolution_rejection(evolved: str, parent: str, directions: str) -> str | None:
    """Why an evolved instruction is no rewrite of `parent` (see the module docstring), or None. `directions`: the
    fixed text of the operation set's prompts."""
    reason = copied_prompt_words(evolved) or artefact_problem({"instruction": evolved})
    if reason:
        return reason
    from_directions, kept = borrowed(evolved, directions, parent)
    if len(from_directions) >= META_STEMS and len(from_directions) > len(kept):
        return "about_the_rewrite"
    if bare_list(evolved) and not bare_list(parent) and "?" not in evolved:
        return "list_not_instruction"
    return None


def bare_list(text: str) -> bool:
    """Every non-empty line of `text` is a list item ("1.", "2)", "-", "*"), and there are at least two."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= 2 and all(_ITEM.match(line) for line in lines)


def answer_rejection(answer: str) -> str | None:
    words = answer.split()
    if "sorry" in answer.lower() and len(words) < 80:
        return "refusal_answer"
    tokens = re.findall(r"[A-Za-z0-9']+", answer.lower())
    if all(t.strip("'") in STOP_WORDS for t in tokens):
        return "stopwords_only_answer"
    return None


def parse_equality(reply: str) -> bool | None:
    """True if the judge said Equal, False for Not Equal, None if it said neither."""
    text = reply.strip().lower()
    if re.search(r"\bnot\s+equal\b", text):
        return False
    if re.search(r"\bequal\b", text):
        return True
    return None
