"""Reading a chat-completion body into a `Completion`, failing loudly (and retryably) on anything else."""

from __future__ import annotations

from typing import Any

from distill.errors import RetryableError
from distill.providers.base import Choice, Completion, Usage


def parse_reply(raw: bytes | dict[str, Any], *, label: str) -> Completion:
    import orjson

    try:
        data = orjson.loads(raw if isinstance(raw, (bytes, str)) else orjson.dumps(raw))  # SDK dicts too: a lone
        # surrogate (`\ud800`) or a non-JSON value fails here, as on the wire, not later in the cache
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        out = [Choice(text=_text(c), finish_reason=c.get("finish_reason"), reasoning=_reasoning(c))
               for c in choices]
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
