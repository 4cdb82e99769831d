"""The `openai` provider through the official SDK (`transport: sdk`): `openai.AsyncOpenAI` on its aiohttp
transport, with the SDK's own retries off (the engine retries). Slower per request than `openai_http.py`, but
it is the reference client: whatever the SDK sends, this sends.
"""

from __future__ import annotations

from typing import Any

from distill.errors import RetryableError, TeacherError, TimedOut
from distill.providers.api_key import api_key_for
from distill.providers.base import Capabilities, Completion, GenerationParams, Message, Provider
from distill.providers.http_errors import error_for_status
from distill.providers.openai_refusals import refusal
from distill.providers.openai_reply import parse_reply
from distill.providers.options import OPENAI_URL, OpenAISpec


class OpenAISDKProvider(Provider):
    kind = "openai"
    spec: OpenAISpec

    def __init__(self, spec: OpenAISpec) -> None:
        super().__init__(spec)
        self.capabilities = Capabilities(supports_n=spec.supports_n, supports_json_schema=spec.supports_json_schema,
                                         native_tools=None)  # tools: found by a probe (engine/server_traits.py)
        self._key = api_key_for(spec) or "not-needed"
        self._client: Any = None
        self._label = f"teacher {spec.label()}"
        self._ever_connected = False

    def _open(self) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=self.spec.base_url or OPENAI_URL, api_key=self._key, max_retries=0,
                                  timeout=self.spec.timeout, http_client=openai.DefaultAioHttpClient())

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        import openai

        if self._client is None:
            self._client = self._open()
        kwargs: dict[str, Any] = params.wire()
        extra = {**(self.spec.extra_body or {}), **(params.extra_body or {})}
        try:
            resp = await self._client.chat.completions.create(
                model=self.spec.model, messages=messages, extra_body=extra or None, **kwargs)
        except openai.APIStatusError as exc:
            self._ever_connected = True
            refused = refusal(exc.status_code, exc.response.text, {**kwargs, **extra}, label=self._label)
            if refused is not None:
                raise refused from None
            raise error_for_status(exc.status_code, exc.response.text, label=self._label,
                                   retry_after=exc.response.headers.get("retry-after")) from None
        except openai.APITimeoutError:
            raise TimedOut(f"{self._label}: no answer within {self.spec.timeout:g}s (timeout)") from None
        except openai.APIConnectionError as exc:
            if not self._ever_connected:
                raise TeacherError(f"{self._label}: cannot connect to {self.spec.base_url or OPENAI_URL} ({exc}).\n"
                                   "Is the server running, and is base_url right (e.g. http://127.0.0.1:8000/v1)?"
                                   ) from None
            raise RetryableError(f"{self._label}: connection failed: {exc}") from None
        except (ValueError, TypeError) as exc:  # a 200 whose body is not JSON / not a completion
            raise RetryableError(f"{self._label}: the reply is not a chat completion: {exc}") from None
        self._ever_connected = True
        data = resp if isinstance(resp, dict) else resp.model_dump()
        return parse_reply(data, label=self._label)

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        """`completions.create` (the legacy completions API); a chat-only server gets a clear error."""
        import openai

        from distill.providers.base import chat_only
        from distill.providers.openai_raw import completion_body, parse_text_reply

        if self._client is None:
            self._client = self._open()
        body = completion_body(self.spec, prompt, params)
        known = {k: body.pop(k) for k in list(body) if k in ("model", "prompt", *params.wire())}
        try:
            resp = await self._client.completions.create(**known, extra_body=body or None)
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                raise TeacherError(chat_only(self.spec.label(), "raw completions")) from None
            raise error_for_status(exc.status_code, exc.response.text, label=self._label,
                                   retry_after=exc.response.headers.get("retry-after")) from None
        except openai.APITimeoutError:
            raise TimedOut(f"{self._label}: no answer within {self.spec.timeout:g}s (timeout)") from None
        except openai.APIConnectionError as exc:
            raise RetryableError(f"{self._label}: {exc}") from None
        return parse_text_reply(resp.model_dump(), label=self._label)

    async def render_chat(self, messages: list[Message]) -> str:
        from distill.providers.openai_raw import render_chat

        return await render_chat(self.spec, None if self._key == "not-needed" else self._key, messages)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
