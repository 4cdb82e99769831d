"""A small HTTP/1.1 client for JSON POSTs: keep-alive connections on asyncio protocols, nothing else.

Why not aiohttp: at 512 requests in flight, aiohttp's request machinery (request and response objects, header
multidicts, payload writers, stream readers, timer contexts) costs ~0.3 ms of CPU per request on this machine;
this client costs ~0.13 ms, which is what lets one core keep thousands of teacher calls in flight
(`bench/throughput.py`). It does only what a chat-completions call needs:

- `POST` with a body of bytes, over http or https (the system's default TLS context), one request per connection
  at a time, connections reused until the server closes them or says `Connection: close`;
- responses with `Content-Length`, `Transfer-Encoding: chunked`, or a body that ends when the connection does;
  gzip/deflate bodies are decoded (we never ask for them);
- a per-request deadline (`timeout`), and three errors: `ConnectFailed` (no connection could be made),
  `Disconnected` (the connection broke before a whole response arrived) and `TimeoutError`.

Retries are not done here: the engine decides, with backoff, and counts them. Proxies are not supported; when an
`HTTP(S)_PROXY` variable applies, the openai provider uses aiohttp instead (`openai_http.py`).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from urllib.parse import urlsplit

Response = tuple[int, dict[str, str], bytes]
MAX_IDLE = 4096


class ConnectFailed(OSError):
    """No TCP (or TLS) connection could be made."""


class Disconnected(ConnectionError):
    """The connection broke before a whole response arrived."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses exactly one response per request."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.buf = bytearray()
        self.closed = False
        self.reusable = True
        self._head: tuple[int, dict[str, str]] | None = None
        self._body_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, waiter: asyncio.Future[Response]) -> None:
        self.waiter = waiter
        self.buf.clear()
        self._head = None
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None:
            self._parse(eof=False)

    def eof_received(self) -> bool | None:
        if self.waiter is not None:
            self._parse(eof=True)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            why = f": {exc}" if exc else " by the server"
            waiter.set_exception(Disconnected(f"connection closed before a whole response arrived{why}"))

    def _parse(self, eof: bool) -> None:
        buf = self.buf
        if self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            try:
                version, code, *_ = lines[0].split(" ", 2)
                status = int(code)
            except ValueError:
                self._fail(f"not an HTTP response: {lines[0][:80]!r}")
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:  # an interim response: the real one follows
                del buf[:end + 4]
                self._parse(eof)
                return
            self._head = (status, headers)
            self._body_at = end + 4
            self.reusable = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        status, headers = self._head
        body = b"" if status in (204, 304) else self._body(headers, eof)
        if body is None:
            return
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "deflate"):
            try:
                body = zlib.decompress(body, 47 if encoding == "gzip" else zlib.MAX_WBITS)
            except zlib.error as exc:
                self._fail(f"cannot decode the {encoding} body: {exc}")
                return
        elif encoding != "identity":
            self._fail(f"unsupported Content-Encoding {encoding!r}")
            return
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, headers, body))

    def _body(self, headers: dict[str, str], eof: bool) -> bytes | None:
        """The whole body once it has arrived, else None."""
        start = self._body_at
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._chunked(start)
        length = headers.get("content-length")
        if length is not None:
            n = int(length)
            if len(self.buf) - start < n:
                if eof:
                    self._fail("the connection closed in the middle of the body")
                return None
            return bytes(self.buf[start:start + n])
        if not eof:  # the body runs to the end of the connection
            return None
        self.reusable = False
        return bytes(self.buf[start:])

    def _chunked(self, pos: int) -> bytes | None:
        buf, parts = self.buf, list[bytes]()
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            try:
                size = int(bytes(buf[pos:line_end]).split(b";", 1)[0], 16)
            except ValueError:
                self._fail("a malformed chunk size")
                return None
            if size == 0:
                if buf.find(b"\r\n\r\n", line_end) < 0:
                    return None  # the final CRLF (after any trailers) has not arrived yet
                return b"".join(parts)
            start = line_end + 2
            if len(buf) < start + size + 2:
                return None
            parts.append(bytes(buf[start:start + size]))
            pos = start + size + 2

    def _fail(self, why: str) -> None:
        self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(Disconnected(why))
        if self.transport is not None:
            self.transport.close()


class HTTP1Client:
    """POST JSON bodies to one origin (scheme, host, port), reusing idle connections."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.base_path = parts.path.rstrip("/")
        default_port = self.port == (443 if self.https else 80)
        host_header = self.host if default_port else f"{self.host}:{self.port}"
        if ":" in self.host and not default_port:
            host_header = f"[{self.host}]:{self.port}"
        fixed = {"Host": host_header, "Accept": "application/json", "Content-Type": "application/json", **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self.timeout = timeout
        self._ssl = ssl.create_default_context() if self.https else None
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: bytes) -> Response:
        loop = asyncio.get_running_loop()
        conn = self._idle.pop() if self._idle else None
        while conn is not None and conn.closed:
            conn = self._idle.pop() if self._idle else None
        waiter: asyncio.Future[Response] = loop.create_future()
        timer = loop.call_later(self.timeout, _expire, waiter)
        try:
            if conn is None:
                conn = await self._connect(waiter)
            request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
                (self.base_path + path).encode("latin-1"), self._head, len(body), body)
            conn.send(request, waiter)
            response = await waiter
        except BaseException:
            if conn is not None and conn.transport is not None:
                conn.reusable = False
                conn.transport.close()  # an abandoned or broken exchange never goes back to the pool
            raise
        finally:
            timer.cancel()
        if conn.reusable and not conn.closed and len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        return response

    async def _connect(self, waiter: asyncio.Future[Response]) -> _Connection:
        loop = asyncio.get_running_loop()
        connecting = loop.create_task(loop.create_connection(
            _Connection, self.host, self.port, ssl=self._ssl, server_hostname=self.host if self.https else None))
        done, _ = await asyncio.wait([connecting, waiter], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
        if connecting not in done:  # the deadline passed while connecting
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            waiter.result()  # raises the TimeoutError
        try:
            _, conn = connecting.result()
        except OSError as exc:
            raise ConnectFailed(exc.errno, exc.strerror or str(exc)) from None
        return conn

    async def close(self) -> None:
        for conn in self._idle:
            if conn.transport is not None:
                conn.transport.close()
        self._idle.clear()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())
