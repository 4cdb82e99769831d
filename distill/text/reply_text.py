"""Cleaning a chat model's reply before a parser reads its structure.

Frontier chat models wrap what was asked for: a reasoning block (`<think>...</think>`, or one left open when
the reply was cut), CRLF line ends, a lead-in line ("Sure! Here are 10 more tasks:"), the whole reply in a code
fence, markdown labels (`**Input:**`, `### Example 2`) and a trailing remark ("Let me know if you'd like more!").
`clean_reply` removes the wrapping and keeps the content as written; `plain_labels` turns markdown labels into
plain `Label:` lines for the parsers in `distill/recipes/*/parse.py`. Pure functions; linear-time regexes.
"""

from __future__ import annotations

import re

_THINK_OPEN = re.compile(r"\A\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_LONE_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>(?=[ \t]*(?:\n|\Z))", re.IGNORECASE)

# A line that introduces the answer rather than being part of it: a courtesy ("Sure!", "Certainly,") or a
# presentation of the reply ("Here are 10 more tasks:", "Below is the rewritten prompt:"). "Here is a table of
# sales:" or "Let's plan a trip:" present content, not the reply, and stay.
_COURTESY = re.compile(r"(?:sure|certainly|of course|absolutely|okay|ok|alright|all right|great|no problem|gladly|"
                       r"got it|understood|happy to help|glad to help|yes)\s*[!,.:;\u2014-]", re.IGNORECASE)
_PRESENT = re.compile(r"(?:here(?:'s|\u2019s| is| are| you go)|below (?:is|are)|(?:the )?following (?:is|are)|"
                      r"as requested|i(?:'d|\u2019d| would) (?:be )?(?:happy|glad|love) to|"
                      r"i(?:'ll|\u2019ll| will| can|'ve|\u2019ve| have)|let me|let's|let us)\b", re.IGNORECASE)
_REPLY_NOUN = re.compile(r"\b(?:more|new|rewritten|revised|updated|evolved|harder|(?:the|a|this|my) list|tasks?|"
                         r"questions?|examples?|"
                         r"instances?|pairs?|contexts?|prompts?|problems?|instructions?|items?|versions?|ones|"
                         r"requested|asked for|you go|continu\w*)\b", re.IGNORECASE)
# A closing remark about the reply itself, not part of the content.
_REMARK = re.compile(
    r"(?:let me know|i hope (?:this|these|that|it|you)|hope (?:this|these|that|it)|hopefully|feel free|"
    r"if you(?:'d|’d| would)? (?:like|need|want|have|prefer)|would you like|do you want|want me to|shall i|"
    r"should i |i can (?:also|provide|generate|create|write|make|adjust|give|come up)|happy to help|glad to help|"
    r"enjoy(?:[!.]|$| (?:these|this|your) )|good luck[!.]|need (?:more|any|another)|"
    r"any (?:other |more |further )?questions|"
    r"(?:these|this|the above) (?:\w+ ){0,3}(?:tasks?|examples?|questions?|contexts?|problems?|instructions?|"
    r"pairs?|list|prompts?|set|items?|rewrites?|versions?) (?:should|are|cover|can|will|were|is|offer|provide|"
    r"range|span|vary|have|include|add|make|keep|require|test)|"
    r"(?:i've|i’ve|i have) (?:tried|aimed|made|included|kept|created|generated|written|provided|added)|"
    r"note:|explanation:|changes made:|what changed:)", re.IGNORECASE)
_MARKUP_START = re.compile(r"^[\s>#*_~`\-–—•:]+")
_RULE = re.compile(r"\s*(?:-{3,}|\*{3,}|_{3,}|={3,}|#{3,})\s*")


def split_reasoning(text: str) -> tuple[str, str | None]:
    """(the reply without its reasoning, the reasoning or None). A reply that opens a reasoning block and never
    closes it is all reasoning (cut off while thinking); a reply with a closing tag and no opening one (chat
    templates that put `<think>` in the prompt, as DeepSeek-R1's does) has its reasoning before the tag."""
    if "think>" not in text and "reasoning>" not in text and "thinking>" not in text:
        return text, None
    parts: list[str] = []
    opened = _THINK_OPEN.match(text)
    if opened is None:
        close = _LONE_CLOSE.search(text)  # at a line end: "ends with </think> and then" is prose about tags
        if close is None or re.search(r"<(?:think|thinking|reasoning)>", text[: close.start()], re.IGNORECASE):
            return text, None
        parts.append(text[: close.start()])
        text = text[close.end():]
        opened = _THINK_OPEN.match(text)
    while opened is not None:
        close = _THINK_CLOSE.search(text, opened.end())
        if close is None:
            parts.append(text[opened.end():])
            text = ""
            break
        parts.append(text[opened.end(): close.start()])
        text = text[close.end():]
        opened = _THINK_OPEN.match(text)
    reasoning = "\n\n".join(p.strip() for p in parts if p.strip())
    return text.lstrip(), reasoning or None


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _bare(line: str) -> str:
    """A line without leading markdown (`**`, `#`, `>`, bullets), for matching lead-ins and remarks."""
    return _MARKUP_START.sub("", line)


def is_lead_in(line: str) -> bool:
    bare = _bare(line).strip()
    if not bare or len(bare) > 240:
        return False
    if _COURTESY.match(bare):
        return True
    return (_PRESENT.match(bare) is not None and _REPLY_NOUN.search(bare) is not None
            and bare.rstrip(" *_").endswith((":", "!")))


def is_remark(line: str) -> bool:
    bare = _bare(line).strip()
    return bool(bare) and _REMARK.match(bare) is not None


def unwrap_fence(text: str) -> str:
    """The inside of a code fence that holds the whole reply; any other text as it is."""
    body = text.strip()
    marker = body[:3]
    if marker not in ("```", "~~~") or "\n" not in body:
        return text
    first, _, rest = body.partition("\n")
    inner, _, last = rest.rpartition("\n")
    closing = last.strip()
    if len(closing) < 3 or set(closing) != {marker[0]} or marker in inner:
        return text
    if first.strip(marker[0]).strip().count(" ") > 1:
        return text  # "``` some prose" is not an opening fence
    return inner


def drop_lead_in(text: str) -> str:
    """Drop leading lines that introduce the reply ("Sure! Here are ...:", "Here is the rewritten prompt:")."""
    lines = text.split("\n")
    k = 0
    while k < len(lines) and (not lines[k].strip() or _RULE.fullmatch(lines[k]) or is_lead_in(lines[k])):
        k += 1
    return "\n".join(lines[k:]) if k else text


def drop_remarks(text: str) -> str:
    """Drop trailing paragraphs, and a trailing line, that remark on the reply ("Let me know if ...")."""
    lines = text.rstrip().split("\n")
    end = len(lines)
    while end:
        start = end
        while start and lines[start - 1].strip():
            start -= 1  # the last paragraph is lines[start:end]
        paragraph = lines[start:end]
        if paragraph and (is_remark(paragraph[0]) or _RULE.fullmatch(paragraph[0]) and len(paragraph) == 1):
            end = start
        elif paragraph and is_remark(paragraph[-1]):
            end -= 1  # a remark on the last line, right under the content
        else:
            break
        while end and not lines[end - 1].strip():
            end -= 1
    return "\n".join(lines[:end])


def clean_reply(text: str) -> str:
    """The reply's content: reasoning removed, LF line ends, lead-in and trailing remarks dropped, a whole-reply
    code fence unwrapped (also when the lead-in or the remark sits outside it). Text inside is kept as written."""
    return _clean(text, list_reply=False)


def clean_list_reply(text: str) -> str:
    """`clean_reply` for a reply that holds a list (numbered tasks, labelled pairs, examples, contexts), which
    also drops wrapping recognised by its shape rather than its words, so phrasings never seen are handled:

    * a first line of at least three words that ends with a colon, is not an item or a label itself, and stands
      alone before a blank line (or is all the reply: cut there by a stop): "Great question! Below is my
      answer:". An item the list continues starts on the line after the prompt, not after a blank line.
    * a last paragraph of one line that is not an item, a label or a fence, under a paragraph that starts or
      ends with an enumerated item ("11. ...", "- ...", "### Task 11", also inside a code fence): "Those should
      keep the dataset varied." Enumerated items are one-liners, so a lone line after them is a remark; after labelled
      values (an output, an answer, a context), which may run to several paragraphs, remarks are recognised
      by their words only."""
    return _clean(text, list_reply=True)


# an enumerated list item at a line start (after markdown): "9.", "9)", "- ", "* ", "Task 9", "### Task 9"
_ENUMERATED = re.compile(r"[ \t>#*_]{0,12}(?:\d{1,6}[ \t]{0,3}[.):]|[-+*\u2022][ \t]|"
                         r"(?:task|question|item|instruction|prompt|example|step)[ \t]{0,3}#?\d)", re.IGNORECASE)
# a label at a line start: "Input:", "Q1 [factual]:", "Class label:", "**Context 2:**" (up to two words)
_LABEL_START = re.compile(r"[ \t>#*_]{0,12}[^\W\d_][\w/]{0,20}(?: [\w/]{1,20})?(?:[ \t]{0,3}\d{1,6})?"
                          r"(?:[ \t]{0,3}[\[(][^\])\n]{0,40}[\])])?[ \t*_]{0,4}:")


def _introduces(line: str) -> bool:
    """A line shaped like a lead-in: ends with a colon, at least three words, neither an item nor a label."""
    bare = line.strip().rstrip("*_ \t")
    return (bare.endswith(":") and len(bare) <= 300 and len(bare.split()) >= 3
            and not _ENUMERATED.match(line) and not _LABEL_START.match(line))


def _drop_intro_by_shape(text: str) -> str:
    lines = text.split("\n")
    if _introduces(lines[0]) and (len(lines) == 1 or not lines[1].strip()):
        return "\n".join(lines[1:]).strip()
    return text


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) line ranges of the non-blank paragraphs, in order."""
    out, start = [], None
    for k, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = k
        elif not line.strip() and start is not None:
            out.append((start, k))
            start = None
    return out


def _remark_shaped(line: str) -> bool:
    return not (_ENUMERATED.match(line) or _LABEL_START.match(line) or line.strip()[:3] in ("```", "~~~")
                or line.rstrip("*_ \t").endswith(":"))


def _enumerated_paragraph(lines: list[str]) -> bool:
    """Its first or last line is an enumerated item (inside a code fence, the fence's first and last lines)."""
    if len(lines) > 2 and lines[0].strip()[:3] in ("```", "~~~") and lines[-1].strip()[:3] == lines[0].strip()[:3]:
        lines = lines[1:-1]
    return bool(_ENUMERATED.match(lines[0]) or _ENUMERATED.match(lines[-1]))


def _drop_closing_by_shape(text: str) -> str:
    """Drop trailing one-line paragraphs (and phrase remarks among them) that follow an enumerated paragraph."""
    lines = text.split("\n")
    paragraphs = _paragraphs(lines)
    k = len(paragraphs)
    shaped = False
    while k > 1:
        start, end = paragraphs[k - 1]
        if end - start == 1 and _remark_shaped(lines[start]):
            shaped = True
        elif not is_remark(lines[start]):
            break
        k -= 1
    if not shaped or k == len(paragraphs) or not _enumerated_paragraph(lines[slice(*paragraphs[k - 1])]):
        return text
    return "\n".join(lines[: paragraphs[k - 1][1]])


def _clean(text: str, list_reply: bool) -> str:
    text, _ = split_reasoning(normalize_newlines(text))
    for _ in range(2):  # outside a fence, then inside it
        text = drop_remarks(drop_lead_in(text.strip()))
        while list_reply:  # by shape, then by phrase again: a lead-in may sit above another, a remark below one
            shaped = _drop_closing_by_shape(_drop_intro_by_shape(text)).strip()
            if shaped == text:
                break
            text = drop_remarks(drop_lead_in(shaped))
        unwrapped = unwrap_fence(text)
        if unwrapped is text:
            break
        text = unwrapped
    return text.strip()


def plain_labels(text: str, labels: str) -> str:
    """Rewrite markdown-dressed labels at line starts into plain ones: `**Input:** x`, `**Input**: x`,
    `### Example 2`, `- **Q1 [factual]:** x`, `**4. Instruction:** x`, `4) Input: x` become `Input: x`,
    `Example 2:`, `Q1 [factual]: x`, `4. Instruction: x`, `4. Input: x`. `labels` is a regex alternation of the
    label words; a word counts as a label only when a colon follows it or it stands alone on its line (with its
    number), so "Input the data" stays a sentence. Line by line, without backtracking regexes."""
    word = _label_words.get(labels)
    if word is None:
        word = _label_words[labels] = re.compile(
            rf"({labels})(?![a-z])(?:[ \t]*#?(\d+))?(?:[ \t]*(\[[^\]\n]*\]|\([^)\n]*\)))?", re.IGNORECASE)
    lines = text.split("\n")
    for k, line in enumerate(lines):
        canonical = _label_line(line, word)
        if canonical is not None:
            lines[k] = canonical
    return "\n".join(lines)


_label_words: dict[str, re.Pattern[str]] = {}
_LEAD_NUMBER = re.compile(r"(\d+)[ \t]*[.)]")


def _label_line(line: str, word: re.Pattern[str]) -> str | None:
    s = line.lstrip(" \t>")
    s = s.lstrip("#").lstrip(" \t")
    if s[:2] in ("- ", "* ", "+ ", "• "):
        s = s[2:].lstrip(" \t")
    opened = len(s) - len(s.lstrip("*_"))
    s = s.lstrip("*_").lstrip(" \t")
    lead = _LEAD_NUMBER.match(s)
    if lead:
        s = s[lead.end():].lstrip(" \t")
        if not opened:
            opened = len(s) - len(s.lstrip("*_"))
        s = s.lstrip("*_").lstrip(" \t")
    m = word.match(s)
    if m is None:
        return None
    rest = s[m.end():]
    rest = rest.lstrip(" \t")
    closed = 0
    if opened:
        closed = len(rest) - len(rest.lstrip("*_"))
        rest = rest.lstrip("*_").lstrip(" \t")
    colon = rest[:1] == ":" or (rest[:1] in ".)" and m.group(2) is not None)
    if colon:
        rest = rest[1:].lstrip(" \t")
        if opened and not closed:
            rest = rest.lstrip("*_").lstrip(" \t")
    elif rest.strip():
        return None  # a sentence that starts with the word
    label = m.group(1) + (f" {m.group(2)}" if m.group(2) else "") + (f" {m.group(3)}" if m.group(3) else "")
    lead_text = f"{lead.group(1)}. " if lead else ""
    return f"{lead_text}{label}:{' ' + rest.rstrip() if rest.strip() else ''}"


def strip_emphasis(text: str) -> str:
    """`**bold**` and `__bold__` markers removed (single-line fields such as instructions and questions)."""
    return re.sub(r"\*\*|__", "", text)
