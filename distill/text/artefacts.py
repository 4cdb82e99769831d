"""Generation artefacts: text a model left in a record that is scaffolding of the prompt, not content.

Small teachers (SmolLM2-135M in issue #35) copy what they are shown: list labels (`A:`, `Q3 [kind]:`,
`Context 1:`), the prompt's placeholders (`Context N:`, a pair that reads `question` / `answer`), its own
directions ("Reply with the request only, written as the person would write it"), the input they were asked to
change, and code fences they open and never close. `artefact_problem(record)` names the first such artefact in
the texts a trainer reads, as a rejection reason, or returns None; `records.acceptance_problem` calls it, so every
record and preference pair of every recipe is checked once, at accept time.

The reasons, in the order they are tested on each text:

* `label_only` — the whole text is a label or a line that introduces what is missing ("Question 2:",
  "Your answer is: The answer to this question is:"), or a bare placeholder word ("answer", "...");
* `prompt_placeholder` — a label with a template variable instead of its number or kind (`Context N:`,
  `Question M:`, `Q3 [kind]:`) at the start of any line;
* `leftover_label` — the text starts with a list label (`A:`, `Q1 [factual]:`, `Answer 2:`, `Context 1:`,
  `Instruction:`, `### Output:`);
* `prompt_echo` — the text repeats a run of `ECHO_WORDS` consecutive words of a packaged prompt's fixed wording
  (`prompts/**/*.j2`, the text outside `{{ }}`, `{% %}` and `{# #}`, without lines that hold a labelled value such
  as a worked example's "Example question: When did ...?"), read once per process;
* `unclosed_code_fence` — a ``` (or ~~~) fence line without its closing partner;
* `prompt_meta` — an instruction or user turn that talks about the prompt being rewritten or evolved ("the
  prompt that must be rewritten"), in any word order within a sentence (Evol-Instruct's fixed phrases missed it);
* `copies_input` — an answer that is its instruction or its input again, or a chat turn that is the user turn
  before it again (compared without case, surrounding quotes, markup, spacing and final punctuation).

Texts checked: `instruction`, `input` (fences and echoes only: inputs carry labels such as "Context:" by design),
`output`, and every user and assistant turn of `messages`, `prompt`, `chosen` and `rejected` (system turns are the
user's). Pure functions; every regex is linear (no two unbounded repeats meet).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

ECHO_WORDS = 6  # a run this long of a prompt's own wording is an echo, not a coincidence

# the words a list prompt uses as labels
_LABEL_WORDS = r"q|a|question|answer|context|instruction|input|output|response|task|problem|request"
_MARKUP = r"[ \t>#*_\-]{0,12}(?:\d{1,4}[.)][ \t]{0,3})?[*_]{0,3}"
_LEFTOVER = re.compile(rf"{_MARKUP}(?:{_LABEL_WORDS})(?:[ \t]{{0,3}}#?\d{{1,4}})?"
                       r"(?:[ \t]{0,3}[\[(][^\])\n]{0,40}[\])])?[ \t*_]{0,4}:(?!\S)", re.IGNORECASE)  # "A:B" is a ratio
# a template variable where a label's number or kind belongs: "Context N:", "Q M:", "Q3 [kind]:", "A [type]:"
_VARIABLE = re.compile(rf"^{_MARKUP}(?:{_LABEL_WORDS}|example|pair|item)(?:[ \t]{{1,3}}[NMKXYZ](?![\w'])|"
                       r"(?:[ \t]{0,3}\d{0,4})[ \t]{0,3}[\[(<](?:kind|type|category|topic|label|question type|"
                       r"kind of question|n|number)[\])>])[ \t*_]{0,4}:", re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER_WORDS = {"question", "answer", "context", "instruction", "input", "output", "response", "task",
                      "problem", "request", "text", "passage", "kind", "your answer", "your question",
                      "answer here", "question here", "the question", "the answer", "", "noinput", "no input"}
_FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
_WORD = re.compile(r"\w+(?:'\w+)?")  # any script: two texts in Hebrew or Chinese compare by their own words
_META = re.compile(r"\bprompts?\b[^.!?\n]{0,80}?\b(?:rewrit|evolv)|\b(?:rewrit|evolv)\w*[^.!?\n]{0,80}?\bprompts?\b",
                   re.IGNORECASE)
_LABELLED_LINE = re.compile(r"^[ \t]*[^\W\d_][\w /'-]{0,30}:[ \t]*\S.*$", re.MULTILINE)
# a worked example's block: under a bare "Problem:" / "Solution:" / "Example passage:" line, up to a blank line
_EXAMPLE_BLOCK = re.compile(r"^[ \t]*(?:example[\w ]{0,20}|problem|solution|question|answer|passage|context|input|"
                            r"output|response|verdict|[qa]\d{0,3})[ \t]*:[ \t]*\n(?:[ \t]*\S.*(?:\n|$))*",
                            re.MULTILINE | re.IGNORECASE)


def artefact_problem(record: dict[str, Any], given: frozenset[str] = frozenset()) -> str | None:
    """The first artefact found in the record's texts (see the module docstring), or None. `given`: texts the
    user supplied (`user_texts`), which are not checked themselves; an answer that copies one still is."""
    has_input = isinstance(record.get("input"), str) and bool(record["input"].strip())
    for key, text in _model_texts(record):
        if text.strip() not in given:
            problem = text_artefact(text, introduces=key == "instruction" and has_input)
            if problem is None and key != "output" and _META.search(text):
                problem = "prompt_meta"
            if problem is not None:
                return problem
    value = record.get("input")
    if isinstance(value, str) and value.strip() and value.strip() not in given:
        problem = _echo_or_fence(value)
        if problem is not None:
            return problem
    return _copy(record)


def user_texts(item: Any) -> frozenset[str]:
    """The texts of an input row (`io.inputs.InputRow`) as a record holds them: its instruction, its input and the
    user turn `make_record` joins them into (stripped). Anything else: none."""
    instruction, input = getattr(item, "instruction", None), getattr(item, "input", None)
    if not isinstance(instruction, str):
        return frozenset()
    input = input if isinstance(input, str) else ""
    texts = {instruction.strip(), input.strip(), f"{instruction}\n\n{input}".strip() if input else ""}
    return frozenset(t for t in texts if t)


def text_artefact(text: str, introduces: bool = False) -> str | None:
    """The artefact of one model-written text (label_only, prompt_placeholder, leftover_label, prompt_echo,
    unclosed_code_fence), or None. `introduces`: the text is an instruction followed by its input, so a closing
    colon ("Summarize:") introduces something that is there. Empty text is the recipe's business (`empty`,
    `too_short`)."""
    if not text.strip():
        return None
    if _label_only(text, introduces):
        return "label_only"
    if _VARIABLE.search(text):
        return "prompt_placeholder"
    if _LEFTOVER.match(text.lstrip()):
        return "leftover_label"
    return _echo_or_fence(text)


# A chat template's control token (ChatML's <|im_end|>, Llama 3's <|eot_id|>, <|endoftext|>; DeepSeek's with
# full-width bars) or a think tag: in a record with thinking, each either cuts the thinking short when a chat
# template splits an assistant turn at </think> (Qwen3, DeepSeek-R1 do) or is read as a special token.
_TEMPLATE_TOKEN = re.compile(r"<\|[\w.:-]{1,40}\|>|<\uff5c[^\uff5c<>\n]{1,40}\uff5c>|</?think>", re.IGNORECASE)


def template_token(text: str) -> str | None:
    """The first chat-template control token or think tag in `text`, or None."""
    m = _TEMPLATE_TOKEN.search(text)
    return m.group() if m else None


def thinking_problem(record: dict[str, Any]) -> str | None:
    """`template_token` when a record that holds thinking (its `reasoning`) has a chat-template control token or a
    think tag in the thinking or in the answer, else None. The thinking's other checks are the reasoning recipe's
    (recipes/reasoning/checks.py); labels, prompt echoes and open code fences are not artefacts in a scratchpad
    (a reasoning model restates the question and its directions, and drafts code), so they are not checked."""
    thinking = record.get("reasoning")
    if not isinstance(thinking, str) or not thinking.strip():
        return None
    texts = [thinking, record.get("output")]
    chat = record.get("messages")
    if isinstance(chat, list):
        texts += [m.get("content") for m in chat if isinstance(m, dict) and m.get("role") == "assistant"]
    return "template_token" if any(isinstance(t, str) and template_token(t) for t in texts) else None


def unclosed_fence(text: str) -> bool:
    """Whether a ``` or ~~~ fence line opens a block that never closes (a line like ```x``` opens and closes)."""
    open_marker: str | None = None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if m is None:
            continue
        marker = m.group(1)
        if open_marker is None:
            if marker[0] * 3 not in line[m.end():]:
                open_marker = marker
        elif marker[0] == open_marker[0] and len(marker) >= len(open_marker) and not line[m.end():].strip():
            open_marker = None
    return open_marker is not None


def echoes_prompt(text: str) -> bool:
    """Whether `text` holds `ECHO_WORDS` consecutive words of a packaged prompt's fixed wording."""
    words = _WORD.findall(text.casefold())
    shingles = _template_shingles()
    return any(tuple(words[k: k + ECHO_WORDS]) in shingles for k in range(len(words) - ECHO_WORDS + 1))


def _echo_or_fence(text: str) -> str | None:
    if echoes_prompt(text):
        return "prompt_echo"
    if unclosed_fence(text):
        return "unclosed_code_fence"
    return None


def _label_only(text: str, introduces: bool) -> bool:
    bare = text.strip().strip("*_#> \t").strip()
    if "\n" in bare:
        return False
    if bare.endswith(":") and len(bare.split()) <= 12 and not introduces:
        return True
    return _normal(bare) in _PLACEHOLDER_WORDS


def _model_texts(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(what it is, text) of every instruction, output, and user or assistant ("output") turn."""
    texts = [(key, record.get(key)) for key in ("instruction", "output")]
    for key in ("messages", "prompt", "chosen", "rejected"):
        chat = record.get(key)
        if isinstance(chat, list):
            texts += [("output" if m.get("role") == "assistant" else "user", m.get("content")) for m in chat
                      if isinstance(m, dict) and m.get("role") != "system"]
    return [(key, t) for key, t in texts if isinstance(t, str)]


def _copy(record: dict[str, Any]) -> str | None:
    output = record.get("output")
    if isinstance(output, str) and _normal(output):
        sources = [record.get("instruction"), record.get("input")]
        if any(isinstance(s, str) and s.strip() and _normal(s) == _normal(output) for s in sources):
            return "copies_input"
    for key in ("messages", "chosen", "rejected"):
        chat = record.get(key)
        if not isinstance(chat, list):
            continue
        turns = [m for m in chat if isinstance(m, dict) and isinstance(m.get("content"), str)]
        for before, turn in zip(turns, turns[1:], strict=False):
            if (turn.get("role") == "assistant" and before.get("role") == "user" and _normal(turn["content"])
                    and _normal(turn["content"]) == _normal(before["content"])):
                return "copies_input"
    return None


def _normal(text: str) -> str:
    """Lower case, words only, single spaces: what two texts must share to be the same text."""
    return " ".join(_WORD.findall(text.casefold()))


@lru_cache(maxsize=1)
def _template_shingles() -> frozenset[tuple[str, ...]]:
    """Every run of `ECHO_WORDS` words of the packaged templates' fixed text (a run never spans a variable)."""
    from distill.prompts import prompts_dir

    out: set[tuple[str, ...]] = set()
    for path in sorted(prompts_dir().rglob("*.j2")):
        text = _LABELLED_LINE.sub("", _EXAMPLE_BLOCK.sub("", path.read_text(encoding="utf-8")))  # examples
        for segment in _fixed_text(text):
            words = _WORD.findall(segment.casefold())
            out.update(tuple(words[k: k + ECHO_WORDS]) for k in range(len(words) - ECHO_WORDS + 1))
    return frozenset(out)


_CLOSERS = {"{#": "#}", "{%": "%}", "{{": "}}"}


def _fixed_text(template: str) -> list[str]:
    """The pieces of a jinja2 template outside its `{# #}`, `{% %}` and `{{ }}` (a scan, no regex)."""
    pieces: list[str] = []
    at = 0
    while True:
        start = template.find("{", at)
        while start != -1 and template[start: start + 2] not in _CLOSERS:
            start = template.find("{", start + 1)
        if start == -1:
            return [*pieces, template[at:]]
        pieces.append(template[at:start])
        end = template.find(_CLOSERS[template[start: start + 2]], start + 2)
        if end == -1:
            return pieces
        at = end + 2
