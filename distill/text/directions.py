"""Text that talks about the writing task instead of doing it, found by comparing its content words with the
directions of the prompt that asked for it (not by fixed phrases).

Small teachers asked to write or rewrite a task sometimes write about the task: "The key to making a challenge
more understandable lies in the words ... that make them harder" (an Evol-Instruct rewrite of a question about
the sky, made of its directions' words "make", "words", "harder"), or end a request with the directions in their
own words ("Response format allowed. Make it clear what type of task you are trying to accomplish. Provide any
specific instructions or requirements."). Words are compared by a crude stem (a common ending off, then the first
five letters: "wording" and "words", "rewritten" and "rewrite" meet), stop words and numbers left out.

* `borrowed(text, directions, source)`: the stems `text` shares with the directions but not with `source` (the
  instruction it was to rewrite), and the stems it shares with `source`;
* `directions_tail(text, directions)`: the closing sentences of `text` that are about the task (most of their
  stems in the directions or in TASK_WORDS, which name the parts of a prompt), when they name at least two such
  parts; else "".
"""

from __future__ import annotations

import re

from distill.text.stopwords import STOP_WORDS

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ENDINGS = ("ing", "ed", "er", "est", "es", "en", "ly", "s", "e")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# what a prompt's directions call the thing being written and its parts: closing sentences naming two of these
# restate the directions ("Provide any specific instructions or requirements."); an answer's own constraints
# ("Keep the answer under 100 words, in a friendly format.") name the answer, which is not among them
TASK_WORDS = frozenset(("task", "request", "question", "prompt", "instruction", "requirement", "direction", "label",
                        "preface"))
TAIL_SHARE = 0.5  # of a sentence's stems in the directions or TASK_WORDS: the sentence is about the task
TAIL_PARTS = 2  # parts of a prompt the closing sentences must name


def stem(word: str) -> str:
    word = word.casefold()
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return word[:5]


_TASK_STEMS = frozenset(stem(w) for w in TASK_WORDS)


def stems(text: str) -> set[str]:
    """The content stems of `text`: no stop words, no numbers."""
    return {stem(w) for w in _WORD.findall(text) if w.casefold() not in STOP_WORDS and len(w) > 1}


def borrowed(text: str, directions: str, source: str) -> tuple[set[str], set[str]]:
    """(stems of `text` from `directions` and not in `source`, stems of `text` in `source`)."""
    mine, theirs = stems(text), stems(source)
    return (mine & stems(directions)) - theirs, mine & theirs


def directions_tail(text: str, directions: str) -> str:
    """The closing sentences of `text` that restate the directions (see the module docstring), or ""."""
    vocabulary = stems(directions) | _TASK_STEMS
    sentences = [s.strip() for s in _SENTENCE.findall(text) if stems(s)]
    tail: list[str] = []
    for sentence in reversed(sentences[1:]):  # the first sentence is the request itself
        words = stems(sentence)
        if len(words & vocabulary) < TAIL_SHARE * len(words):
            break
        tail.insert(0, sentence)
    parts = set().union(*(stems(s) for s in tail)) & _TASK_STEMS if tail else set()
    return " ".join(tail) if len(parts) >= TAIL_PARTS else ""
