"""Evol-Instruct's elimination rules (WizardLM, section 3.3), as pure functions returning a rejection reason.

1. no information gain: an LLM comparison says the evolved instruction equals its parent ("equal_to_parent");
2. the answer is a refusal: contains "sorry" and is shorter than 80 words ("refusal_answer");
3. the answer is only punctuation and stop words ("stopwords_only_answer");
4. the evolved instruction copies words of the evolving prompt ("copied_prompt_words").
"""

from __future__ import annotations

import re

from distill.text.stopwords import STOP_WORDS

PROMPT_WORDS = ("#the given prompt#", "#rewritten prompt#", "#given prompt#", "#created prompt#", "given prompt",
                "rewritten prompt", "created prompt", "original prompt", "new prompt", "rewrite the prompt")


def copied_prompt_words(instruction: str) -> str | None:
    lowered = instruction.lower()
    for phrase in PROMPT_WORDS:
        if phrase in lowered:
            return "copied_prompt_words"
    return None


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
