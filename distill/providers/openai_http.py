"""The `openai` provider's default transport: OpenAI's chat-completions wire format over one aiohttp session.

The official SDK costs 1.5-5 ms of CPU per request (parameter transformation and response model construction),
which caps one process near 300-500 requests/s; this transport costs ~0.2 ms. It speaks exactly the same
protocol, so it works with OpenAI, vLLM, Ollama, llama.cpp's server, SGLang and TGI. Set `transport: sdk` to use
`openai.AsyncOpenAI` instead (see `openai_sdk.py`).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from distill.errors import InputError, RetryableError, TeacherError
from distill.providers.base import Capabilities, Completion, GenerationParams, Message, Provider
from distill.providers.http_errors import error_for_status
from distill.providers.openai_reply import parse_reply
from distill.providers.spec import ProviderSpec

OPENAI_URL = "https://api.openai.com/v1"


def api_key_for(spec: ProviderSpec) -> str | None:
    """The key from the environment variable the spec names; required only for the hosted OpenAI API."""
    key = os.environ.get(spec.api_key_env) or None
    if key is None and spec.base_url is None:
        raise InputError(f"teacher {spec.label()}: no API key. Set the environment variable {spec.api_key_env} "
                         "(or name another one with `api_key_env`), or give a `base_url` for a local server.")
    return key


class OpenAIHTTPProvider(Provider):
    kind = "openai"

    def __init__(self, spec: ProviderSpec) -> None:
        super().__init__(spec)
        self.capabilities = Capabilities(supports_n=spec.supports_n)
        self._key = api_key_for(spec)
        self._url = (spec.base_url or OPENAI_URL) + "/chat/completions"
        self._session: Any = None
        self._label = f"teacher {spec.label()}"
        self._ever_connected = False

    def _open(self) -> Any:
        import aiohttp

        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        connector = aiohttp.TCPConnector(limit=self.spec.max_concurrency, ttl_dns_cache=300)
        return aiohttp.ClientSession(headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=self.spec.timeout))

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        import aiohttp
        import orjson

        if self._session is None:
            self._session = self._open()
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages, **params.wire()}
        for extra in (self.spec.extra_body, params.extra_body):
            if extra:
                body.update(extra)
        try:
            async with self._session.post(self._url, data=orjson.dumps(body)) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as exc:
            if not self._ever_connected:
                raise TeacherError(f"{self._label}: cannot connect to {self.spec.base_url or OPENAI_URL} "
                                   f"({exc.os_error.strerror if exc.os_error else exc}).\n"
                                   "Is the server running, and is base_url right (e.g. http://127.0.0.1:8000/v1)?"
                                   ) from None
            raise RetryableError(f"{self._label}: connection failed: {exc}") from None
        except asyncio.TimeoutError:
            raise RetryableError(f"{self._label}: no answer within {self.spec.timeout:g}s (timeout)") from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise RetryableError(f"{self._label}: connection dropped: {type(exc).__name__}: {exc}") from None
        self._ever_connected = True
        if status != 200:
            raise error_for_status(status, raw.decode("utf-8", "replace"), label=self._label,
                                   retry_after=retry_after)
        return parse_reply(raw, label=self._label)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
