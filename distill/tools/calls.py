"""A tool call as distill keeps it, read from a native reply (OpenAI `tool_calls`, Anthropic `tool_use` blocks) or,
for a model without native tool calling, from its text.

The text fallback reads the forms models write when the prompt describes the tools: Hermes/Qwen
`<tool_call>{...}</tool_call>` blocks, a fenced ```json block, or a JSON object or list that the reply begins with.
A call object is `{"name": ..., "arguments": {...}}`, also spelt with `function`/`tool` for the name and
`parameters`/`args`/`input` for the arguments; a list is several calls at once (parallel calls). Reading is
bounded: at most `MAX_CALLS` calls and `MAX_TEXT` characters are looked at, each candidate decoded once.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from distill.text.json_text import decode_json, decode_json_prefix

MAX_CALLS = 16
MAX_TEXT = 64_000
_TAGGED = re.compile(r"<tool_call>([^<]{0,16000})</tool_call>")
_FENCED = re.compile(r"```(?:json|tool_call)?[ \t]{0,8}\n([^`]{0,16000})```")
_NAME_KEYS = ("name", "function", "tool", "tool_name")
_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input")


class ToolCall(BaseModel):
    """One call: the function's name and its arguments (a dict, or the raw text when they were not a JSON object,
    which the format stage rejects with its reason)."""

    id: str
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def openai(self) -> dict[str, Any]:
        """The call as an assistant message's `tool_calls` entry (arguments as a JSON string, as the API has it)."""
        args = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments, ensure_ascii=False)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": args}}


def _arguments(raw: Any) -> dict[str, Any] | str:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        decoded = decode_json(raw)
        return decoded if isinstance(decoded, dict) else raw
    return json.dumps(raw)


def from_openai(tool_calls: list[dict[str, Any]]) -> list[ToolCall]:
    """Calls from an OpenAI-compatible reply's `message.tool_calls`."""
    calls = []
    for i, entry in enumerate(tool_calls[:MAX_CALLS]):
        function = entry.get("function") or {}
        calls.append(ToolCall(id=str(entry.get("id") or f"call_{i}"), name=str(function.get("name", "")),
                              arguments=_arguments(function.get("arguments", {}))))
    return calls


def from_anthropic(blocks: list[dict[str, Any]]) -> list[ToolCall]:
    """Calls from an Anthropic reply's `tool_use` content blocks."""
    uses = [b for b in blocks if b.get("type") == "tool_use"][:MAX_CALLS]
    return [ToolCall(id=str(b.get("id") or f"call_{i}"), name=str(b.get("name", "")),
                     arguments=_arguments(b.get("input", {}))) for i, b in enumerate(uses)]


def _call(obj: Any, index: int) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {"name", "arguments"}}
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if not name:
        return None
    raw: Any = next((obj[k] for k in _ARGUMENT_KEYS if k in obj), {})
    return ToolCall(id=f"call_{index}", name=name, arguments=_arguments(raw))


def _calls_in(value: Any, found: list[ToolCall]) -> None:
    for obj in value if isinstance(value, list) else [value]:
        if len(found) >= MAX_CALLS:
            return
        call = _call(obj, len(found))
        if call is not None:
            found.append(call)


def from_text(text: str) -> list[ToolCall]:
    """The calls a plain-text reply makes; [] when it makes none (an answer in words)."""
    text = text[:MAX_TEXT]
    found: list[ToolCall] = []
    for block in _TAGGED.findall(text):
        _calls_in(decode_json(block.strip()), found)
    if found:
        return found
    for block in _FENCED.findall(text):
        _calls_in(decode_json(block.strip()), found)
    if found:
        return found
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        value = decode_json_prefix(stripped)
        if value is not None:
            _calls_in(value[0], found)
    return found
