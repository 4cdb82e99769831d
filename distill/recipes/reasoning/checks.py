"""Checks of one reasoning trace: the known ways a teacher's thinking fails, each a small pure function.

* `truncated` — the reply stopped at the token limit (finish reason `length`), thinking left open included;
* `no_final_answer` — nothing after the thinking (a block closed and then silence, or one left open when the
  server ended the reply without the limit: the provider has already moved an open block to the thinking);
* `empty_reasoning` — no thinking, fewer than a few words of it, or thinking that only copies the answer or the
  question;
* `too_long` — thinking and answer longer than a token budget (estimated as characters / 4);
* `repetition_loop` — the same run of tokens over and over (a small or over-long model's loop);
* `language_mix` — words of a writing system the question does not use (R1-Zero's language mixing).

`rejection(trace, question, limits)` runs them in that order and gives the first reason. Every regex is linear
(character classes, one repeat each); the loop check is one pass over the tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Trace:
    """One sample: its thinking, its answer (the text after the thinking) and why the teacher stopped."""

    thinking: str
    answer: str
    finish_reason: str | None = None

    @property
    def tokens(self) -> int:
        """Its length in tokens, estimated (characters / 4): the response-length signal of difficulty."""
        return (len(self.thinking) + len(self.answer)) // CHARS_PER_TOKEN


@dataclass(frozen=True)
class Limits:
    min_reasoning_words: int = 3
    max_trace_tokens: int | None = None
    loop_ngram: int = 16
    loop_repeats: int = 5
    max_foreign_share: float = 0.05


def truncated(trace: Trace) -> bool:
    return trace.finish_reason == "length"


_WORD_CHAR = re.compile(r"\w")


def no_final_answer(trace: Trace) -> bool:
    return _WORD_CHAR.search(trace.answer) is None


_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _plain(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .")


def empty_reasoning(trace: Trace, question: str, min_words: int = 3) -> str | None:
    """Why the thinking is no thinking (`empty`, `too_few_words`, `copies_answer`, `copies_question`), or None."""
    thinking = _plain(trace.thinking)
    if not thinking:
        return "empty"
    if len(thinking.split()) + len(_IDEOGRAPH.findall(thinking)) < min_words:  # Han and kana: no spaces
        return "too_few_words"
    if thinking in _plain(trace.answer):
        return "copies_answer"
    if thinking == _plain(question):
        return "copies_question"
    return None


def too_long(trace: Trace, max_tokens: int | None) -> bool:
    return max_tokens is not None and trace.tokens > max_tokens


_TOKEN = re.compile(r"\w+|[^\w\s]+")


def repetition_loop(text: str, ngram: int = 16, repeats: int = 5) -> bool:
    """Whether some run of `ngram` tokens (words, punctuation runs) occurs `repeats` times or more."""
    tokens = _TOKEN.findall(text)
    seen: Counter[tuple[str, ...]] = Counter()
    for start in range(len(tokens) - ngram + 1):
        gram = tuple(tokens[start:start + ngram])
        seen[gram] += 1
        if seen[gram] >= repeats:
            return True
    return False


# A word and its writing system. LaTeX commands (`\frac`) and Latin words of one or two letters (variables, units)
# are neutral, as is Greek (math symbols); Han and kana count per character (no spaces between words).
_SCRIPT_WORD = re.compile(
    r"(?P<latex>\\[A-Za-z]+)|(?P<latin>[A-Za-z\u00c0-\u024f]+)|(?P<cyrillic>[\u0400-\u04ff]+)"
    r"|(?P<greek>[\u0370-\u03ff]+)|(?P<arabic>[\u0600-\u06ff]+)|(?P<hebrew>[\u0590-\u05ff]+)"
    r"|(?P<devanagari>[\u0900-\u097f]+)|(?P<thai>[\u0e00-\u0e7f]+)|(?P<hangul>[\uac00-\ud7af]+)"
    r"|(?P<kana>[\u3040-\u30ff])|(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
NEUTRAL = frozenset({"latex", "greek"})


def script_words(text: str) -> Counter[str]:
    """How many words of each writing system the text holds (neutral words left out)."""
    counts: Counter[str] = Counter()
    for m in _SCRIPT_WORD.finditer(text):
        script = str(m.lastgroup)
        if script in NEUTRAL or (script == "latin" and len(m.group()) < 3):
            continue
        counts[script] += 1
    return counts


def language_mix(text: str, question: str, max_share: float = 0.05) -> bool:
    """Whether more than `max_share` of the text's words are in a writing system the question does not use (the
    text's own main one when the question has no words: a bare formula). Japanese questions allow Han."""
    counts = script_words(text)
    total = sum(counts.values())
    if not total:
        return False
    allowed = set(script_words(question))
    if "kana" in allowed:
        allowed.add("han")
    if not allowed:
        allowed = {counts.most_common(1)[0][0]}
    foreign = sum(n for script, n in counts.items() if script not in allowed)
    return foreign / total > max_share


def rejection(trace: Trace, question: str, limits: Limits) -> tuple[str, str | None] | None:
    """(reason, detail) of the first check the trace fails, or None when it passes them all."""
    if truncated(trace):
        return "truncated", None
    if no_final_answer(trace):
        return "no_final_answer", None
    empty = empty_reasoning(trace, question, limits.min_reasoning_words)
    if empty is not None:
        return "empty_reasoning", empty
    if too_long(trace, limits.max_trace_tokens):
        return "too_long", None
    text = f"{trace.thinking}\n{trace.answer}"
    if repetition_loop(text, limits.loop_ngram, limits.loop_repeats):
        return "repetition_loop", None
    if language_mix(text, question, limits.max_foreign_share):
        return "language_mix", None
    return None
