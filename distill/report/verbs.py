"""The verb-noun structure of instructions: each instruction's root verb and its direct object, counted and
drawn as the self-instruct paper's sunburst (top 20 verbs, top 4 objects of each).

The paper parsed with the Berkeley Neural Parser. No parser model ships on PyPI from its authors (spaCy's
`en_core_web_sm` is published on GitHub, and PyPI copies are third-party re-uploads), and the report must work
offline, so this is a documented heuristic for the imperative sentences instructions are made of:
1. Skip a leading framing clause up to its comma ("Given a sentence, classify ..." -> "classify ...") and
   politeness ("Please", "Can you", "I want you to", "Help me").
2. The first word is the root verb unless it is a function word (determiner, pronoun, preposition, auxiliary):
   an instruction starting with a wh-word or an auxiliary is counted as a question, anything else as other.
3. The direct object is the last word of the noun phrase after the verb: skip an indirect object pronoun
   ("Give me ..."), then read until a preposition, conjunction, wh-word, punctuation or five words
   ("Write a short poem about cats" -> poem; "Create a list of ideas" -> list). A clause right after the verb
   ("Explain why ...") gives no object.
Known limits: a sentence whose first word is a noun that is also a verb form ("Design patterns are ...") counts
as that verb; phrasal verbs keep only the verb ("Come up with" -> come); compound heads keep the last word
("a Python function" -> function, as a parser would); no lemmatisation ("Writes" stays "writes").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_TOKEN = re.compile(r"\w[\w'-]*|[^\w\s]")
QUESTION = {"what", "why", "how", "when", "where", "who", "whom", "which", "whose", "is", "are", "was", "were",
            "do", "does", "did", "can", "could", "should", "would", "will", "has", "have", "had", "am", "may",
            "might", "shall", "must"}
FUNCTION = {"the", "a", "an", "this", "that", "these", "those", "i", "you", "he", "she", "it", "we", "they",
            "my", "your", "our", "their", "his", "her", "its", "in", "on", "at", "of", "for", "to", "from",
            "with", "by", "as", "if", "and", "or", "but", "not", "there", "here", "some", "any", "each", "every",
            "all", "no", "one", "two", "three", "now", "then", "so", "also"}
POLITE = re.compile(r"^(please|kindly|(can|could|would|will) you( please)?|i (want|need|would like) you to|"
                    r"help me( to)?|let's|let us)\b[\s,]*", re.IGNORECASE)
FRAME = re.compile(r"^(given|based on|using|for|in|if|with|from|consider|suppose|imagine)\b[^,.?!]{0,200},\s*",
                   re.IGNORECASE)
BOUNDARY = {"about", "of", "on", "in", "into", "for", "to", "from", "with", "by", "between", "at", "as", "using",
            "based", "without", "than", "like", "over", "under", "and", "or", "but", "that", "which", "who",
            "where", "when", "how", "why", "what", "whether", "if", "so", "because", "while", "is", "are", "was",
            "were", "be", "will", "can", "should", "only", "each", "per", "within", "across", "after", "before"}
INDIRECT = {"me", "us", "him", "her", "them", "someone", "somebody"}
STANDALONE = {"it", "them", "something", "anything", "everything", "yourself", "myself"}
PRONOUN = {"it", "this", "that", "these", "those", "them", "something", "anything", "everything", "one"}


def verb_object(instruction: str) -> tuple[str, str | None] | tuple[None, str]:
    """(verb, object or None) for an imperative, (None, "question") or (None, "other") otherwise."""
    text = instruction.strip()
    for _ in range(3):
        stripped = FRAME.sub("", POLITE.sub("", text), count=1)
        if stripped == text:
            break
        text = stripped
    tokens = _TOKEN.findall(text)
    if not tokens or not tokens[0].replace("'", "").replace("-", "").isalpha():
        return None, "other"
    first = tokens[0].lower()
    if first in QUESTION:
        return None, "question"
    if first in FUNCTION or text.rstrip().endswith("?") and len(tokens) > 1 and tokens[1].lower() in QUESTION:
        return None, "other"
    rest = [t.lower() for t in tokens[1:]]
    while rest and rest[0] in INDIRECT:
        rest = rest[1:]
    phrase: list[str] = []
    for tok in rest[:6]:
        if not tok[0].isalnum() or tok in BOUNDARY:
            break
        phrase.append(tok)
    phrase = [t for t in phrase if t.isalpha()]
    if phrase and phrase[0] in STANDALONE:  # "Make it shorter": the object is a pronoun
        return first, None
    if not phrase or len(phrase) > 5 or phrase[-1] in FUNCTION | PRONOUN | INDIRECT:
        return first, None
    return first, phrase[-1]


def structure(instructions: list[str], top_verbs: int = 20, top_objects: int = 4) -> dict[str, Any]:
    verbs: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    for text in instructions:
        verb, obj = verb_object(text)
        if verb is None:
            kinds[obj or "other"] += 1
            continue
        kinds["verb_object" if obj else "verb_only"] += 1
        verbs[verb] += 1
        if obj:
            pairs[(verb, obj)] += 1
    tree = []
    covered = 0
    for verb, count in verbs.most_common(top_verbs):
        objs = Counter({o: c for (v, o), c in pairs.items() if v == verb}).most_common(top_objects)
        covered += sum(c for _, c in objs)
        tree.append({"verb": verb, "count": count, "objects": [{"object": o, "count": c} for o, c in objs]})
    n = len(instructions)
    return {"count": n, "kinds": dict(kinds), "unique_verbs": len(verbs), "unique_pairs": len(pairs),
            "top": tree, "top_pair_share": round(covered / n, 4) if n else 0.0,
            "method": "heuristic: first word as root verb, last word of the following noun phrase as object"}
