"""Raw completions and chat-template rendering on OpenAI-compatible servers (for Magpie-style recipes).

* `POST {base}/completions` (the legacy completions API that vLLM, llama.cpp's llama-server, SGLang and TGI
  serve): a plain-text prompt continued with no chat template. A server without it (404/405/501, e.g. the
  hosted OpenAI chat models, Ollama's chat wrapper) gets a "serves chat only" error that stops the run (exit 1).
* The model's chat template is rendered by the server itself: llama-server's `POST /apply-template`, else vLLM's
  `POST /tokenize` (messages, chat template applied) then `POST /detokenize`. Both sit at the server root, beside
  `/v1`. A server with neither raises `NoChatTemplate`; magpie then renders the template its user chose
  (`options.chat_template`, distill/recipes/magpie/chat_templates.py), never one a server or a model sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from distill.errors import RetryableError, TeacherError
from distill.providers.base import Choice, Completion, GenerationParams, Message, NoChatTemplate, Usage, chat_only
from distill.providers.http_errors import error_for_status, post
from distill.providers.openai_reply import token_count
from distill.providers.options import OpenAISpec

CHAT_ONLY_STATUSES = (404, 405, 501)


def _client(spec: OpenAISpec, key: str | None, base: str) -> Any:
    from distill import __version__
    from distill.providers.http1 import HTTP1Client
    from distill.providers.proxies import uses_proxy

    headers = {"User-Agent": f"distill/{__version__}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if spec.transport == "aiohttp" or uses_proxy(base):
        from distill.providers.aiohttp_client import AiohttpClient

        return AiohttpClient(base, headers, spec.timeout, spec.body_limits())
    return HTTP1Client(base, headers, spec.timeout, spec.body_limits())


async def _post(client: Any, path: str, body: dict[str, Any], label: str) -> tuple[int, bytes]:
    status, headers, raw = await post(client, path, orjson.dumps(body), label=label)
    if status != 200 and status not in CHAT_ONLY_STATUSES:
        raise error_for_status(status, raw.decode("utf-8", "replace"), label=label,
                               retry_after=headers.get("retry-after"))
    return status, raw


def parse_text_reply(raw: bytes | dict[str, Any], *, label: str) -> Completion:
    """A /v1/completions body (`choices[i].text`) as a Completion; anything else is retryable."""
    try:
        data = orjson.loads(raw) if isinstance(raw, (bytes, str)) else raw
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        out = [Choice(text=str(c.get("text") or ""), finish_reason=c.get("finish_reason")) for c in choices]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise RetryableError(f"{label}: the reply is not a text completion ({type(exc).__name__})") from None
    if not out:
        raise RetryableError(f"{label}: the reply has no choices")
    usage, model = data.get("usage"), data.get("model")  # read only when they are what the protocol says
    return Completion(choices=out, model=model if isinstance(model, str) else None, usage=Usage(
        prompt_tokens=token_count(usage, "prompt_tokens"), completion_tokens=token_count(usage, "completion_tokens")))


def completion_body(spec: OpenAISpec, prompt: str, params: GenerationParams) -> dict[str, Any]:
    body: dict[str, Any] = {"model": spec.model, "prompt": prompt, **params.wire()}
    body.pop("response_format", None)  # not part of the completions API
    for extra in (spec.extra_body, params.extra_body):
        if extra:
            body.update(extra)
    return body


async def complete_raw(spec: OpenAISpec, key: str | None, client: Any, prompt: str,
                       params: GenerationParams) -> Completion:
    label = f"teacher {spec.label()}"
    status, raw = await _post(client, "/completions", completion_body(spec, prompt, params), label)
    if status != 200:
        raise TeacherError(chat_only(spec.label(), "raw completions") + f"\n(POST /completions answered {status}: "
                           f"{raw[:200].decode('utf-8', 'replace')})")
    return parse_text_reply(raw, label=label)


async def render_chat(spec: OpenAISpec, key: str | None, messages: list[Message]) -> str:
    """The server's rendering of `messages` through the model's chat template, generation prompt included."""
    base = (spec.base_url or "").rstrip("/")
    root = base.removesuffix("/v1")
    label = f"teacher {spec.label()}"
    if not root:
        raise NoChatTemplate(chat_only(spec.label(), "its chat template"))
    client = _client(spec, key, root)
    try:
        status, raw = await _post(client, "/apply-template", {"messages": messages}, label)  # llama-server
        if status == 200:
            return str(orjson.loads(raw)["prompt"])
        status, raw = await _post(client, "/tokenize", {"model": spec.model, "messages": messages,  # vLLM
                                                        "add_generation_prompt": True}, label)
        if status == 200:
            tokens = orjson.loads(raw)["tokens"]
            status, raw = await _post(client, "/detokenize", {"model": spec.model, "tokens": tokens}, label)
            if status == 200:
                return str(orjson.loads(raw)["prompt"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise TeacherError(f"{label}: unreadable chat-template reply from {root}: {exc}") from None
    except RetryableError as exc:
        raise TeacherError(f"{label}: cannot read the model's chat template from {root}: {exc}") from None
    finally:
        await client.close()
    raise NoChatTemplate(f"{label}: {root} has no endpoint that renders the model's chat template: it serves "
                         "neither llama-server's POST /apply-template nor vLLM's POST /tokenize with messages.")
