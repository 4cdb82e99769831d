"""Reading a chat-completion body into a `Completion`, failing loudly (and retryably) on anything else."""

from __future__ import annotations

import json
from typing import Any

from distill.errors import RetryableError
from distill.providers.base import Choice, Completion, Usage


def parse_reply(raw: bytes | dict[str, Any], *, label: str) -> Completion:
    import orjson

    try:
        data = orjson.loads(raw if isinstance(raw, (bytes, str)) else orjson.dumps(raw))  # SDK dicts too: a lone
        # surrogate (`\ud800`) or a non-JSON value fails here, as on the wire, not later in the cache
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        out = [Choice(text=_text(c), finish_reason=c.get("finish_reason"), reasoning=_reasoning(c),
                      tool_calls=_tool_calls(c)) for c in choices]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        preview = raw[:200] if isinstance(raw, (bytes, str)) else str(raw)[:200]
        raise RetryableError(f"{label}: the reply is not a chat completion ({type(exc).__name__}): {preview!r}"
                             ) from None
    if not out:
        raise RetryableError(f"{label}: the reply has no choices")
    usage, model = data.get("usage"), data.get("model")
    return Completion(choices=out, model=model if isinstance(model, str) else None,
                      usage=Usage(prompt_tokens=token_count(usage, "prompt_tokens"),
                                  completion_tokens=token_count(usage, "completion_tokens")))


def token_count(usage: Any, key: str) -> int:
    """A token count from the server's `usage`, or 0 when it sent something else (a string, a bool, -1, 10**30)."""
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53 else 0


def _text(choice: dict[str, Any]) -> str:
    content = choice["message"].get("content")
    if content is None:
        return ""
    if isinstance(content, list):  # some servers return content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _reasoning(choice: dict[str, Any]) -> str | None:
    """A reasoning model's thinking sent apart from the content (vLLM, SGLang, DeepSeek: `reasoning_content`)."""
    value = choice["message"].get("reasoning_content") or choice["message"].get("reasoning")
    return value if isinstance(value, str) and value.strip() else None


MAX_TOOL_CALLS = 64


def _tool_calls(choice: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Native tool calls (`message.tool_calls`), kept in OpenAI's form with only the fields a trainer reads: id,
    type, function name and arguments (a JSON text); at most MAX_TOOL_CALLS. None when there are none."""
    calls = choice["message"].get("tool_calls")
    if not isinstance(calls, list) or not calls:
        return None
    out = []
    for i, call in enumerate(calls[:MAX_TOOL_CALLS]):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError(f"tool call {i} has no function name")
        arguments = function.get("arguments", "{}")
        out.append({"id": str(call.get("id") or f"call_{i}"), "type": "function",
                    "function": {"name": function["name"],
                                 "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})
    return out
