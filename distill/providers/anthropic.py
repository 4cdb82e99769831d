"""The `anthropic` provider: Claude through Anthropic's Messages API (`POST {base_url}/v1/messages`).

    teacher: anthropic:claude-sonnet-4-5        # or {provider: anthropic, model: ..., default_max_tokens: 8192}

The key comes from the environment variable named by `api_key_env` (default ANTHROPIC_API_KEY) and is sent as
`x-api-key`, with `anthropic-version: 2023-06-01` (or the spec's `api_version`). The wire format is in
`anthropic_wire.py`. Calls go over the same keep-alive HTTP/1.1 client as the openai provider (`http1.py`; aiohttp
behind an HTTP(S)_PROXY). The API has no `n`, so the provider declares it lacks it and the engine sends n single
calls; it has no `response_format`, so judges read replies with the tolerant JSON reader. 429 (with Retry-After),
5xx and 529 overloaded are retried by the engine; 400 "prompt is too long" rejects the item, as for any teacher.
"""

from __future__ import annotations

from typing import Any

from distill.providers.anthropic_wire import ANTHROPIC_URL, error_for, parse_message, request_body
from distill.providers.api_key import api_key_for
from distill.providers.base import Capabilities, Completion, GenerationParams, Message, Provider
from distill.providers.hosted import Hosted
from distill.providers.http1 import HTTP1Client
from distill.providers.http_errors import post
from distill.providers.options import AnthropicSpec


def headers_for(spec: AnthropicSpec, key: str | None) -> dict[str, str]:
    from distill import __version__

    headers = {"User-Agent": f"distill/{__version__}", "anthropic-version": spec.api_version}
    if key:
        headers["x-api-key"] = key
    return headers


class AnthropicProvider(Provider):
    kind = "anthropic"
    capabilities = Capabilities(supports_n=False, supports_json_schema=False, native_tools=True)
    spec: AnthropicSpec
    Spec = AnthropicSpec
    needs_key = True
    hosted = Hosted("anthropic", frozenset({"api.anthropic.com"}), batch_factor=0.5)  # batch: half price
    batch_backend = "anthropic"

    def __init__(self, spec: AnthropicSpec) -> None:
        super().__init__(spec)
        self._key = api_key_for(spec)
        self._base = spec.base_url or ANTHROPIC_URL
        self._client: Any = None
        self._label = f"teacher {spec.label()}"
        self._ever_connected = False

    @property
    def identity(self) -> dict[str, Any]:
        """The endpoint, plus what changes answers without changing a request's params: the max_tokens sent when
        none is set, and the API version (2026-10-21 drops temperature)."""
        return {**super().identity, "default_max_tokens": self.spec.default_max_tokens,
                "api_version": self.spec.api_version}

    def _open(self) -> Any:
        from distill.providers.proxies import uses_proxy

        if uses_proxy(self._base):
            from distill.providers.aiohttp_client import AiohttpClient

            return AiohttpClient(self._base, headers_for(self.spec, self._key), self.spec.timeout,
                                 self.spec.body_limits())
        return HTTP1Client(self._base, headers_for(self.spec, self._key), self.spec.timeout, self.spec.body_limits())

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        import orjson

        if self._client is None:
            self._client = self._open()
        body = request_body(self.spec, messages, params)
        first = None if self._ever_connected else "Is base_url right (the API root, e.g. https://api.anthropic.com)?"
        status, headers, raw = await post(self._client, "/v1/messages", orjson.dumps(body), label=self._label,
                                          timeout=self.spec.timeout, base=self._base, first=first)
        self._ever_connected = True
        if status != 200:
            raise error_for(status, raw.decode("utf-8", "replace"), body, label=self._label,
                            key_env=self.spec.api_key_env, retry_after=headers.get("retry-after"))
        return parse_message(raw, label=self._label)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
