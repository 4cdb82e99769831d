"""The same `post()` as `http1.HTTP1Client`, on an aiohttp session: for `transport: aiohttp`, and used
automatically when an `HTTP(S)_PROXY` environment variable applies to the teacher's URL (aiohttp honours it)."""

from __future__ import annotations

import asyncio
from typing import Any

from distill.providers.http1 import ConnectFailed, Disconnected, Response


class AiohttpClient:
    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json", **headers}
        self.timeout = timeout
        self._session: Any = None

    async def post(self, path: str, body: bytes) -> Response:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self.headers, trust_env=True, timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
        try:
            async with self._session.post(self.base_url + path, data=body) as resp:
                raw = await resp.read()
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw
        except aiohttp.ClientConnectorError as exc:
            os_error = exc.os_error
            raise ConnectFailed(os_error.errno if os_error else None,
                                (os_error.strerror if os_error else None) or str(exc)) from None
        except asyncio.TimeoutError:
            raise
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise Disconnected(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
