"""The shape of an output record: chat `messages` (TRL-ready) plus Alpaca-style columns and a `meta`."""

from __future__ import annotations

import re
from typing import Any

from distill.engine.item_log import given_texts
from distill.text.artefacts import artefact_problem, thinking_problem


def make_record(*, instruction: str, output: str, input: str = "", system: str | None = None,
                meta: dict[str, Any], reasoning: str | None = None) -> dict[str, Any]:
    """A record: the chat `messages` and the Alpaca fields of one answer, and its `meta`. The thinking behind the
    answer, when kept, is the record's `reasoning` field — the one place for every recipe (the reasoning recipe
    passes `reasoning`; the others pass `**Recipe.reasoning_meta(choice)` in `meta`, moved from there), where the
    reasoning export formats read it (publish/reasoning_formats.py)."""
    user = instruction if not input else f"{instruction}\n\n{input}"
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": output}]
    kept = meta.pop("reasoning", None)
    thinking = reasoning if reasoning is not None else kept
    record = {"messages": messages, "instruction": instruction, "input": input, "output": output, "meta": meta}
    if isinstance(thinking, str) and thinking.strip():
        record["reasoning"] = thinking.strip()
    return record


def make_rejection(*, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
                   detail: Any = None) -> dict[str, Any]:
    row: dict[str, Any] = {"stage": stage, "reason": reason, "item": item}
    if raw is not None:
        row["raw"] = raw
    if detail is not None:
        row["detail"] = detail
    return row


MAX_TEXT_CHARS = 1_000_000  # one text field of an accepted record; anything longer is a runaway reply
# C0 controls but tab / newline / carriage return (NUL, ANSI escapes, ...), DEL, and the bidirectional overrides
# and isolates that can make text display differently from what it says ("Trojan Source")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def acceptance_problem(record: dict[str, Any]) -> str | None:
    """Why a record must not be accepted whatever its recipe decided (`reply_too_large`, `control_characters`,
    or a generation artefact: `label_only`, `prompt_placeholder`, `leftover_label`, `prompt_echo`,
    `unclosed_code_fence`, `copies_input` — text/artefacts.py), or None. Checks every text of the record a trainer
    reads — instruction, input, output and the contents of its chat lists (`messages`; a preference pair's
    `prompt`, `chosen`, `rejected`) — for size and artefacts, and every other string it holds, `meta` included
    (judge rationales, answers), for control characters. A record's thinking (`reasoning`) is checked for size,
    control characters and, with its answer, chat-template tokens and think tags (`template_token`,
    text/artefacts.py's thinking_problem), which would break the reasoning export formats. Inside a work item
    whose item is an input row, the row's own instruction and input are the user's words and are not checked for
    artefacts."""
    chats = [record.get(key) for key in ("messages", "prompt", "chosen", "rejected")]
    texts = [m.get("content") for chat in chats if isinstance(chat, list) for m in chat if isinstance(m, dict)]
    texts += [record.get(key) for key in ("instruction", "input", "output", "reasoning")]
    strings: list[str] = [t for t in texts if isinstance(t, str)]
    if any(len(t) > MAX_TEXT_CHARS for t in strings):
        return "reply_too_large"
    if any(_CONTROL.search(t) for t in _all_strings(record)):
        return "control_characters"
    return thinking_problem(record) or artefact_problem(record, given_texts())


def _all_strings(value: Any, depth: int = 0) -> list[str]:
    """Every string in a JSON-like value (keys too), to a nesting depth of 32 (records are shallow)."""
    if isinstance(value, str):
        return [value]
    if depth > 32:
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_all_strings(k, depth + 1), *_all_strings(v, depth + 1))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _all_strings(v, depth + 1)]
    return []
