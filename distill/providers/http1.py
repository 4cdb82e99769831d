"""A small HTTP/1.1 client for JSON POSTs: keep-alive connections on asyncio protocols, nothing else.

Why not aiohttp: at 512 requests in flight, aiohttp's request machinery (request and response objects, header
multidicts, payload writers, stream readers, timer contexts) costs ~0.3 ms of CPU per request on this machine;
this client costs ~0.13 ms, which is what lets one core keep thousands of teacher calls in flight
(`bench/throughput.py`). It does only what a chat-completions call needs:

- `POST` with a body of bytes, over http or https (the system's default TLS context), one request per connection
  at a time, connections reused until the server closes them or says `Connection: close`;
- responses with `Content-Length`, `Transfer-Encoding: chunked`, or a body that ends when the connection does;
  gzip/deflate bodies are decoded (we never ask for them); redirects are never followed (a 3xx is returned as is);
- what a server sends is read through `bounded_body.py`: a head (interim 1xx heads included) within
  `limits.head`, a body within `limits.body` after decoding, each byte parsed once;
- a per-request deadline (`timeout`), and four errors: `ConnectFailed` (no connection could be made),
  `Disconnected` (the connection broke, or the server sent something that is not a readable response),
  `ReplyTooLarge` (the body passed its limit; the connection is closed) and `TimeoutError`.

Retries are not done here: the engine decides, with backoff, and counts them. Proxies are not supported; when an
`HTTP(S)_PROXY` variable applies, the openai provider uses aiohttp instead (`proxies.py`).
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from distill.providers.bounded_body import MAX_INTERIM, BodyError, BodyLimits, BodyReader, ReplyTooLarge, size_text

Response = tuple[int, dict[str, str], bytes]
MAX_IDLE = 4096
MAX_CHUNK_LINE = 4096


class ConnectFailed(OSError):
    """No TCP (or TLS) connection could be made."""


class Disconnected(ConnectionError):
    """The connection broke before a whole response arrived."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses exactly one response per request, every byte looked at a bounded number
    of times, and never holds more than `limits` allow (`bounded_body.py`)."""

    def __init__(self, limits: BodyLimits) -> None:
        self.limits = limits
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.buf = bytearray()
        self.closed = False
        self.reusable = True
        self._reset()

    def _reset(self) -> None:
        self._head: tuple[int, dict[str, str]] | None = None
        self._scan = 0  # where the search for the end of the head (or trailers) goes on from
        self._head_bytes = 0  # of this response's heads so far, interim ones included
        self._interim = 0
        self._reader: BodyReader | None = None
        self._left = -1  # body bytes still due (Content-Length), or of the current chunk; -1: read to the end
        self._chunk = -1  # chunked: 0 reading a size line, 1 in a chunk's data, 2 its CRLF, 3 the trailers

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, waiter: asyncio.Future[Response]) -> None:
        self.waiter = waiter
        self.buf.clear()
        self._reset()
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: this connection is not used again
            self.reusable = False
            if self.transport is not None:
                self.transport.close()
            return
        self.buf += data
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
        try:
            while self._head is None:
                if not self._read_head():
                    return
            body = self._read_body(eof)
            if body is None:
                return
        except ReplyTooLarge as exc:
            self._fail(exc)
            return
        except BodyError as exc:
            self._fail(Disconnected(str(exc)))
            return
        status, headers = self._head
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, headers, body))

    def _read_head(self) -> bool:
        """Parse one head (an interim 1xx one is parsed and dropped) once it has all arrived; False until then."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n", max(self._scan - 3, 0))
        if end < 0:
            self._scan = len(buf)
            if self._head_bytes + len(buf) > self.limits.head:
                raise BodyError(f"the response head is larger than {size_text(self.limits.head)}")
            return False
        self._head_bytes += end + 4
        if self._head_bytes > self.limits.head:
            raise BodyError(f"the response head is larger than {size_text(self.limits.head)}")
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[:end + 4]
        self._scan = 0
        try:
            version, code, *_ = lines[0].split(" ", 2)
            status = int(code)
        except ValueError:
            raise BodyError(f"not an HTTP response: {lines[0][:80]!r}") from None
        if 100 <= status < 200:  # an interim response: the real one follows
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise BodyError(f"more than {MAX_INTERIM} interim (1xx) responses")
            return True
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._head = (status, headers)
        self.reusable = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        self._reader = BodyReader(headers.get("content-encoding", "identity").lower(), self.limits.body)
        if status in (204, 304):
            self._left = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunk, self._left = 0, 0
        elif "content-length" in headers:
            self._left = _content_length(headers["content-length"])
        return True

    def _read_body(self, eof: bool) -> bytes | None:
        """The whole decoded body once it has arrived, else None. What arrived so far is handed to the reader
        and dropped from the buffer."""
        assert self._head is not None and self._reader is not None
        buf, reader = self.buf, self._reader
        if self._chunk >= 0:
            if not self._chunked(buf, reader):
                if eof:
                    raise BodyError("the connection closed in the middle of the body")
                return None
            return reader.finish()
        if self._left < 0:  # the body runs to the end of the connection
            reader.feed(bytes(buf))
            buf.clear()
            if not eof:
                return None
            self.reusable = False
            return reader.finish()
        if len(buf) >= self._left:
            reader.feed(bytes(buf[:self._left]) if len(buf) > self._left else bytes(buf))
            self._left = 0
            return reader.finish()
        reader.feed(bytes(buf))
        self._left -= len(buf)
        buf.clear()
        if eof:
            raise BodyError("the connection closed in the middle of the body")
        return None

    def _chunked(self, buf: bytearray, reader: BodyReader) -> bool:
        """Read chunks from `buf` as far as it goes; True once the last chunk and the trailers are in."""
        while True:
            if self._chunk == 0:  # a size line
                line_end = buf.find(b"\r\n")
                if line_end < 0:
                    if len(buf) > MAX_CHUNK_LINE:
                        raise BodyError("a malformed chunk size")
                    return False
                self._left = _chunk_size(bytes(buf[:line_end]))
                del buf[:line_end + 2]
                self._chunk, self._scan = (1, 0) if self._left else (3, 0)
            elif self._chunk == 1:  # the chunk's data
                take = min(len(buf), self._left)
                if take == 0:
                    return False
                reader.feed(bytes(buf[:take]))
                del buf[:take]
                self._left -= take
                if self._left == 0:
                    self._chunk = 2
            elif self._chunk == 2:  # the CRLF after the data
                if len(buf) < 2:
                    return False
                if buf[:2] != b"\r\n":
                    raise BodyError("a chunk not followed by CRLF")
                del buf[:2]
                self._chunk = 0
            else:  # trailers, up to an empty line
                if buf[:2] == b"\r\n":
                    return True
                end = buf.find(b"\r\n\r\n", max(self._scan - 3, 0))
                if end >= 0:
                    return True
                self._scan = len(buf)
                if self._head_bytes + len(buf) > self.limits.head:
                    raise BodyError(f"the response trailers are larger than {size_text(self.limits.head)}")
                return False

    def _fail(self, error: Exception) -> None:
        self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None:
            self.transport.close()


def _content_length(value: str) -> int:
    if not value.isdigit() or not value.isascii() or len(value) > 18:
        raise BodyError(f"a malformed Content-Length {value[:40]!r}")
    return int(value)


def _chunk_size(line: bytes) -> int:
    size = line.split(b";", 1)[0].strip()
    if not size or len(size) > 15 or size.strip(b"0123456789abcdefABCDEF"):
        raise BodyError("a malformed chunk size")
    return int(size, 16)


class HTTP1Client:
    """POST JSON bodies to one origin (scheme, host, port), reusing idle connections."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float,
                 limits: BodyLimits | None = None) -> None:
        self.limits = limits or BodyLimits()
        self.base_url = base_url.rstrip("/")
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
            lambda: _Connection(self.limits), self.host, self.port, ssl=self._ssl,
            server_hostname=self.host if self.https else None))
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
