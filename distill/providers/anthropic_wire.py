"""Anthropic's Messages API wire format: our chat messages and params to a request body, a Message to a
`Completion`, an error answer to what the engine should do. Shared by the immediate provider (`anthropic.py`)
and the Message Batches backend (`distill/batch/anthropic_batch.py`).

Requests: system messages move to the top-level `system` field (several are joined by a blank line); `max_tokens`,
which the API requires, defaults to the spec's `default_max_tokens`; `stop` becomes `stop_sequences` (whitespace-
only sequences, which the API refuses, are left out); when both `temperature` and `top_p` are set only `temperature`
is sent (current Claude models refuse the pair), and neither is sent under `api_version: 2026-10-21`, which refuses
them (distill's default is 2023-06-01, since recipes set temperatures); `n`, `seed`, the penalties and
`response_format` have no Messages API equivalent and are not sent (n > 1 is fanned out by the engine, since the
provider declares it lacks `n`). `extra_body` (e.g. `thinking: {type: enabled, budget_tokens: 2048}`, `top_k`) is
merged in as given.

Tools: `params.tools` (OpenAI-style function schemas) become `tools` with `input_schema`, `tool_choice` auto /
none / required -> auto / none / any; an assistant turn's `tool_calls` become `tool_use` blocks and `tool`
messages `tool_result` blocks in a user turn. Replies' `tool_use` blocks come back as OpenAI-form
`Choice.tool_calls`.

Replies: the text blocks joined, `thinking` blocks to `Choice.reasoning`; `stop_reason` end_turn / stop_sequence
-> "stop", max_tokens -> "length", refusal -> "content_filter"; usage input tokens (cache reads and writes
included) and output tokens.
"""

from __future__ import annotations

from typing import Any

from distill.errors import RetryableError, TeacherError
from distill.providers.base import Choice, Completion, GenerationParams, Message, Usage
from distill.providers.http_errors import error_for_status
from distill.providers.openai_refusals import refusal
from distill.providers.openai_reply import MAX_TOOL_CALLS, token_count
from distill.providers.options import AnthropicSpec
from distill.redact import clean_text

ANTHROPIC_URL = "https://api.anthropic.com"
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "content_filter",
          "tool_use": "tool_calls", "pause_turn": "stop", "model_context_window_exceeded": "length"}


_TOOL_CHOICE = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}


def _turns(messages: list[Message]) -> list[dict[str, Any]]:
    """Our chat turns as Messages API turns. Plain turns pass as they are (so their cache keys stay); an assistant
    turn with OpenAI-style `tool_calls` becomes text and `tool_use` blocks, and the `tool` messages that follow
    become one user turn of `tool_result` blocks (the API alternates user and assistant turns)."""
    import json

    out: list[dict[str, Any]] = []
    for turn in messages:
        m: dict[str, Any] = turn  # a tool-calling turn holds more than strings
        role = m.get("role")
        if role == "system":
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.get("tool_call_id"), "content": m["content"]}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant" and m.get("tool_calls"):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m["content"]}] if m.get("content") else []
            for call in m["tool_calls"]:
                function = call["function"]
                blocks.append({"type": "tool_use", "id": call["id"], "name": function["name"],
                               "input": json.loads(function["arguments"] or "{}")})
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": role, "content": m["content"]})
    return out


def request_body(spec: AnthropicSpec, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
    body: dict[str, Any] = {"model": spec.model, "max_tokens": params.max_tokens or spec.default_max_tokens,
                            "messages": _turns(messages)}
    if system:
        body["system"] = system
    if params.tools:  # OpenAI-style function schemas as Anthropic tools
        body["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                          "input_schema": t["function"].get("parameters", {"type": "object"})} for t in params.tools]
        if params.tool_choice in _TOOL_CHOICE:
            body["tool_choice"] = _TOOL_CHOICE[params.tool_choice]
    if spec.api_version == "2023-06-01":  # the later version takes no sampling parameters at all
        if params.temperature is not None:
            body["temperature"] = params.temperature
        elif params.top_p is not None:
            body["top_p"] = params.top_p
    stops = [s for s in params.stop or [] if s.strip()]
    if stops:
        body["stop_sequences"] = stops
    for extra in (spec.extra_body, params.extra_body):
        if extra:
            body.update(extra)
    return body


def parse_message(raw: bytes | dict[str, Any], *, label: str) -> Completion:
    """A Message (`{"type": "message", "content": [blocks], ...}`) as a one-choice Completion; RetryableError when
    the body is not one (a proxy's HTML page, a cut-off body)."""
    import orjson

    try:
        data = orjson.loads(raw) if isinstance(raw, (bytes, str)) else raw
        blocks = data["content"]
        text = "".join(b["text"] for b in blocks if b.get("type") == "text")
        thinking = "\n\n".join(b["thinking"] for b in blocks if b.get("type") == "thinking" and b.get("thinking"))
        stop = data.get("stop_reason")
        calls = [{"id": str(b["id"]), "type": "function",
                  "function": {"name": str(b["name"]), "arguments": orjson.dumps(b.get("input", {})).decode()}}
                 for b in blocks if b.get("type") == "tool_use"][:MAX_TOOL_CALLS]
        choice = Choice(text=text, reasoning=thinking or None, tool_calls=calls or None,
                        finish_reason=FINISH.get(stop, stop) if isinstance(stop, str) else None)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        preview = raw[:200] if isinstance(raw, (bytes, str)) else str(raw)[:200]
        raise RetryableError(f"{label}: the reply is not a message ({type(exc).__name__}): {preview!r}") from None
    usage, model = data.get("usage"), data.get("model")
    prompt = sum(token_count(usage, k) for k in ("input_tokens", "cache_creation_input_tokens",
                                                  "cache_read_input_tokens"))
    return Completion(choices=[choice], model=model if isinstance(model, str) else None,
                      usage=Usage(prompt_tokens=prompt, completion_tokens=token_count(usage, "output_tokens")))


def error_for(status: int, text: str, request: dict[str, Any], *, label: str, key_env: str,
              retry_after: str | None = None) -> Exception:
    """What an error answer means: retry (429, 5xx, 529 overloaded), reject the item (400 "prompt is too long":
    `Refused("context_length")`), or stop with a message saying what to fix (key, model, request)."""
    refused = refusal(status, text, request, label=label)
    if refused is not None:
        return refused
    if status in (401, 403):
        return TeacherError(f"{label} rejected the API key (HTTP {status}): {clean_text(text)}\n"
                            f"Check the environment variable {key_env} (named by `api_key_env`) for this teacher.")
    if status == 404:
        return TeacherError(f"{label} answered 404 Not Found: {clean_text(text)}\n"
                            "Check the model name (e.g. claude-sonnet-4-5) and that base_url is the API root "
                            f"(e.g. {ANTHROPIC_URL}, without /v1).")
    return error_for_status(status, text, label=label, retry_after=retry_after)


def error_type(body: dict[str, Any]) -> tuple[str, str]:
    """(type, message) of an error object `{"type": "error", "error": {"type": ..., "message": ...}}`."""
    inner = body.get("error") if isinstance(body, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    return str(inner.get("type") or "error"), str(inner.get("message") or "")
