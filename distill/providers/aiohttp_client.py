"""The same `post()` as `http1.HTTP1Client`, on an aiohttp session: for `transport: aiohttp`, and used
automatically when an `HTTP(S)_PROXY` environment variable applies to the teacher's URL (aiohttp honours it).

It reads what the server sends as the own client does: aiohttp's decompression is off and the body goes through
`bounded_body.BodyReader` (its limit applies after decoding, a bomb is stopped at it); the head is bounded by
aiohttp's parser (`limits.head` per header line, at most 128 headers, `MAX_INTERIM` 1xx heads); redirects are
not followed (a 3xx is returned, and `http_errors.post` refuses it)."""

from __future__ import annotations

import asyncio
from typing import Any

from distill.providers.bounded_body import MAX_INTERIM, BodyError, BodyLimits, BodyReader, ReplyTooLarge
from distill.providers.http1 import ConnectFailed, Disconnected, Response


def session_limits(limits: BodyLimits) -> dict[str, Any]:
    """aiohttp.ClientSession arguments that make it read within `limits` (with `read_body` for bodies)."""
    line = min(limits.head, 1 << 20)
    return {"auto_decompress": False, "max_line_size": line, "max_field_size": line, "max_headers": 128,
            "response_class": _response_class()}


def _response_class() -> Any:
    """aiohttp's response, reading at most `MAX_INTERIM` interim (1xx) heads (aiohttp alone reads them forever)."""
    import aiohttp

    class BoundedResponse(aiohttp.ClientResponse):
        async def start(self, connection: Any) -> Any:
            protocol = connection.protocol
            read, heads = protocol.read, 0

            async def counted() -> Any:
                nonlocal heads
                heads += 1
                if heads > MAX_INTERIM + 1:
                    raise BodyError(f"more than {MAX_INTERIM} interim (1xx) responses")
                return await read()

            protocol.read = counted  # an instance attribute, dropped once the head is read
            try:
                return await super().start(connection)
            finally:
                del protocol.read

    return BoundedResponse


async def read_body(resp: Any, limits: BodyLimits) -> bytes:
    """The decoded body of an aiohttp response, read within `limits.body` (ReplyTooLarge past it, BodyError when
    it cannot be decoded). A body not read to its end closes the connection."""
    try:
        reader = BodyReader(resp.headers.get("Content-Encoding", "identity").lower(), limits.body)
        async for chunk in resp.content.iter_any():
            reader.feed(chunk)
        return reader.finish()
    except (ReplyTooLarge, BodyError):
        resp.close()
        raise


class AiohttpClient:
    def __init__(self, base_url: str, headers: dict[str, str], timeout: float,
                 limits: BodyLimits | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate", **headers}
        self.timeout = timeout
        self.limits = limits or BodyLimits()
        self._session: Any = None

    async def post(self, path: str, body: bytes) -> Response:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self.headers, trust_env=True, timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300), **session_limits(self.limits))
        try:
            async with self._session.post(self.base_url + path, data=body, allow_redirects=False) as resp:
                raw = await read_body(resp, self.limits)
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw
        except aiohttp.ClientConnectorError as exc:
            os_error = exc.os_error
            raise ConnectFailed(os_error.errno if os_error else None,
                                (os_error.strerror if os_error else None) or str(exc)) from None
        except (asyncio.TimeoutError, ReplyTooLarge):
            raise
        except BodyError as exc:
            raise Disconnected(str(exc)) from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise Disconnected(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
