"""The `openai` provider's default transport: OpenAI's chat-completions wire format over keep-alive HTTP/1.1.

The official SDK costs 1.5-5 ms of CPU per request (parameter transformation and response model construction),
which caps one process near 300-500 requests/s; aiohttp alone costs ~0.3 ms; this transport (`http1.py`) ~0.13 ms.
It speaks exactly the same protocol, so it works with OpenAI, vLLM, Ollama, llama.cpp's server, SGLang and TGI.
`transport: aiohttp` uses an aiohttp session (chosen automatically behind an HTTP(S)_PROXY); `transport: sdk`
uses `openai.AsyncOpenAI` (see `openai_sdk.py`).
"""

from __future__ import annotations

from typing import Any

from distill.providers.api_key import api_key_for
from distill.providers.base import Capabilities, Completion, GenerationParams, Message, Provider
from distill.providers.hosted import Hosted
from distill.providers.http1 import HTTP1Client
from distill.providers.http_errors import error_for_status, post
from distill.providers.openai_refusals import refusal
from distill.providers.openai_reply import parse_reply
from distill.providers.options import OPENAI_URL, OpenAISpec
from distill.providers.proxies import uses_proxy
from distill.providers.spec import ProviderSpec


class OpenAIHTTPProvider(Provider):
    """The `openai` provider (registered under that name); `transport: sdk` makes an `OpenAISDKProvider`."""

    kind = "openai"
    spec: OpenAISpec
    Spec = OpenAISpec
    needs_key = True
    hosted = Hosted("openai", frozenset({"api.openai.com"}), batch_factor=0.5)  # batch: half price (price page)
    batch_backend = "openai"

    @classmethod
    def create(cls, spec: ProviderSpec) -> Provider:
        if getattr(spec, "transport", "http") == "sdk":
            from distill.providers.openai_sdk import OpenAISDKProvider

            return OpenAISDKProvider(spec)  # type: ignore[arg-type]
        return cls(spec)  # type: ignore[arg-type]

    def __init__(self, spec: OpenAISpec) -> None:
        super().__init__(spec)
        self.capabilities = Capabilities(supports_n=spec.supports_n, supports_json_schema=spec.supports_json_schema,
                                         native_tools=None)  # tools: found by a probe (engine/server_traits.py)
        self._key = api_key_for(spec)
        self._base = spec.base_url or OPENAI_URL
        self._client: Any = None
        self._label = f"teacher {spec.label()}"
        self._ever_connected = False

    def _open(self) -> Any:
        from distill import __version__

        headers = {"User-Agent": f"distill/{__version__}"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        if self.spec.transport == "aiohttp" or uses_proxy(self._base):
            from distill.providers.aiohttp_client import AiohttpClient

            return AiohttpClient(self._base, headers, self.spec.timeout, self.spec.body_limits())
        return HTTP1Client(self._base, headers, self.spec.timeout, self.spec.body_limits())

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        import orjson

        if self._client is None:
            self._client = self._open()
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages, **params.wire()}
        for extra in (self.spec.extra_body, params.extra_body):
            if extra:
                body.update(extra)
        first = None if self._ever_connected else (
            "Is the server running, and is base_url right (e.g. http://127.0.0.1:8000/v1)?")
        status, headers, raw = await post(self._client, "/chat/completions", orjson.dumps(body), label=self._label,
                                          timeout=self.spec.timeout, base=self._base, first=first)
        self._ever_connected = True
        if status != 200:
            text = raw.decode("utf-8", "replace")
            refused = refusal(status, text, body, label=self._label)
            if refused is not None:
                raise refused
            raise error_for_status(status, text, label=self._label,
                                   retry_after=headers.get("retry-after"))
        return parse_reply(raw, label=self._label)

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        from distill.providers import openai_raw

        if self._client is None:
            self._client = self._open()
        return await openai_raw.complete_raw(self.spec, self._key, self._client, prompt, params)

    async def render_chat(self, messages: list[Message]) -> str:
        from distill.providers import openai_raw

        return await openai_raw.render_chat(self.spec, self._key, messages)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
