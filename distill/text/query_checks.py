"""Checks on a generated user query (Magpie's filters): length, language, repetition, incompleteness.

Each returns a named rejection reason or None. The language check is a dependency-free heuristic, not a
classifier: a query is "en" when nearly all its letters are Latin and, past a few words, some of its words are
common English function words. It tells English from other scripts and from most Latin-script languages; it
cannot tell English prose from English-looking code.
"""

from __future__ import annotations

import re
import unicodedata

from distill.text.stopwords import STOP_WORDS

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def length_rejection(text: str, min_words: int, max_words: int) -> str | None:
    words = len(text.split())
    if words < min_words:
        return "too_short"
    if words > max_words:
        return "too_long"
    return None


def language_of(text: str) -> str:
    """"en" or "other" (see the module docstring)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "other"
    latin = sum(1 for c in letters if c.isascii() or "LATIN" in unicodedata.name(c, ""))
    if latin / len(letters) < 0.9:
        return "other"
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 4:
        return "en" if all(c.isascii() for c in letters) else "other"
    share = sum(1 for w in words if w in STOP_WORDS) / len(words)
    return "en" if share >= 0.15 else "other"


def repetition_share(text: str, n: int = 3) -> float:
    """The share of word n-grams that repeat an earlier n-gram of the same text (0 for short texts)."""
    words = text.lower().split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    if len(grams) < 4:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def is_incomplete(text: str) -> bool:
    """Ends where more was clearly meant to follow: a colon, a dangling comma or conjunction, an open bracket."""
    stripped = text.rstrip()
    if not stripped:
        return True
    if stripped[-1] in ":,;([{" or stripped.endswith(("...", "…")):
        return True
    return stripped.split()[-1].lower() in {"and", "or", "the", "a", "an", "to", "of", "with", "for"}


def query_rejection(text: str, *, min_words: int, max_words: int, language: str | None, max_repetition: float,
                    drop_incomplete: bool) -> str | None:
    """The first filter `text` fails, or None; in Magpie's order: length, incomplete, repetition, language."""
    reason = length_rejection(text, min_words, max_words)
    if reason:
        return reason
    if drop_incomplete and is_incomplete(text):
        return "incomplete"
    if repetition_share(text) > max_repetition:
        return "repetitive"
    if language is not None and language_of(text) != language:
        return "language"
    return None
