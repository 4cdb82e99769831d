"""The one way every HTTP client here reads what a server sends: within limits, decoded as it streams in, in time
linear in the bytes received.

* `BodyLimits`: how much a server may send — a reply body after decompression (`body`, default 16 MiB), a
  response head with any interim `1xx` heads before it (`head`, 64 KiB), and a streamed batch results file
  (`stream`, 8 GiB); at most `MAX_INTERIM` interim heads. They come from the teacher's settings
  (`max_reply_bytes`, `max_header_bytes`, `max_batch_results_bytes`).
* `BodyReader`: collects one reply body, decoding gzip/deflate as it arrives. It never holds more than
  `limits.body` bytes of decoded body (plus one piece of at most `PIECE` bytes): past that it raises `ReplyTooLarge`,
  which keeps the first `PREFIX` bytes and nothing else. A gzip bomb is stopped after `limits.body` bytes of output,
  whatever its ratio.
* `LineReader`: splits a streamed JSONL file into lines, each line bounded by `limits.body` (a longer one becomes an
  `OversizedLine` holding its prefix; the rest of it is dropped as it arrives) and the whole file by
  `limits.stream`. Every byte is searched for a newline once.

Nothing here knows a protocol: the clients (`http1.py`, `aiohttp_client.py`, `distill/batch/wire.py`) feed it bytes.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

PIECE = 1 << 20  # at most this much decoded output per step of decompression
PREFIX = 1024  # bytes of an oversized reply kept to say what it was
MAX_INTERIM = 32  # interim (1xx) heads read before a response's own
MIB = 1 << 20


@dataclass(frozen=True)
class BodyLimits:
    body: int = 16 * MIB
    head: int = 64 * 1024
    stream: int = 8 * 1024 * MIB


class BodyError(ValueError):
    """The body cannot be read: an unsupported or corrupt Content-Encoding, a malformed framing."""


class ReplyTooLarge(Exception):
    """A body (or a streamed file) went past its limit. Holds the first `PREFIX` bytes, never more."""

    def __init__(self, limit: int, prefix: bytes, what: str = "the reply") -> None:
        super().__init__(f"{what} is larger than {size_text(limit)} (after decompression); "
                         f"it was not read further")
        self.limit = limit
        self.prefix = prefix[:PREFIX]


def size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


class Decoder:
    """Incremental Content-Encoding decoding (identity, gzip, deflate) in pieces of at most `PIECE` bytes."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower() or "identity"
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise BodyError(f"unsupported Content-Encoding {encoding[:40]!r}")
        self.encoding = encoding
        self._inflate = (None if encoding == "identity" else
                         zlib.decompressobj(zlib.MAX_WBITS if encoding == "deflate" else 47))

    def pieces(self, data: bytes) -> list[bytes] | _Pieces:
        if self._inflate is None:
            return [data]
        return _Pieces(self, data)

    def finish(self) -> None:
        """Raise BodyError when a compressed body ended before its end (cut off, or not compressed at all)."""
        if self._inflate is not None and not self._inflate.eof:
            raise BodyError(f"cannot decode the {self.encoding} body: it ends before the compressed stream does")


class _Pieces:
    """Iterating decodes `data` a piece at a time, so a caller can stop before a bomb is inflated."""

    def __init__(self, decoder: Decoder, data: bytes) -> None:
        self._inflate, self._data, self._encoding = decoder._inflate, data, decoder.encoding
        self._done = decoder._inflate is None or decoder._inflate.eof

    def __iter__(self) -> _Pieces:
        return self

    def __next__(self) -> bytes:
        inflate = self._inflate
        assert inflate is not None
        if self._done:
            raise StopIteration
        try:
            out = inflate.decompress(self._data, PIECE)
        except zlib.error as exc:
            raise BodyError(f"cannot decode the {self._encoding} body: {exc}") from None
        self._data = inflate.unconsumed_tail
        if len(out) < PIECE and not self._data:
            self._done = True  # this input has given all it holds
            if not out:
                raise StopIteration
        return out


class BodyReader:
    """One reply body, fed as it arrives; `finish()` returns it decoded. Raises `ReplyTooLarge` as soon as the
    decoded body passes `limit`, `BodyError` when it cannot be decoded."""

    __slots__ = ("limit", "size", "_parts", "_decoder")

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._parts: list[bytes] = []
        self._decoder = None if encoding in ("", "identity") else Decoder(encoding)

    def feed(self, data: bytes) -> None:
        if self._decoder is None:
            self._take(data)
            return
        for piece in self._decoder.pieces(data):
            self._take(piece)

    def _take(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.limit:
            prefix = bytearray()
            for part in (*self._parts, piece):
                prefix += part[:PREFIX - len(prefix)]
                if len(prefix) >= PREFIX:
                    break
            self._parts.clear()
            raise ReplyTooLarge(self.limit, bytes(prefix))
        if piece:
            self._parts.append(piece)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._decoder.finish()
        parts = self._parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


@dataclass(frozen=True)
class OversizedLine:
    """A line of a streamed file longer than the per-line limit: its first bytes, the rest dropped unread."""

    prefix: bytes

    def field(self, name: str) -> str | None:
        """A short string field (`"custom_id": "..."`) found in the prefix, to tell which entry the line was."""
        text = self.prefix.decode("utf-8", "replace")
        found = re.search('"' + re.escape(name) + r'"\s*:\s*"([^"\\]{1,256})"', text)
        return found.group(1) if found else None


LINE_PREFIX = 64 * 1024  # kept of an oversized line: enough to find its id


class LineReader:
    """Lines of a streamed (possibly compressed) file: `feed(chunk)` returns the lines completed by it (bytes, or
    `OversizedLine`), `finish()` the last one. Raises `ReplyTooLarge` when the decoded file passes
    `limits.stream`."""

    def __init__(self, encoding: str, limits: BodyLimits, what: str = "the results file") -> None:
        self._decoder = Decoder(encoding)
        self._line_limit, self._total_limit, self._what = limits.body, limits.stream, what
        self._total = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._oversized: bytes | None = None  # the prefix of the line being dropped

    def feed(self, data: bytes) -> list[bytes | OversizedLine]:
        out: list[bytes | OversizedLine] = []
        for piece in self._decoder.pieces(data):
            self._total += len(piece)
            if self._total > self._total_limit:
                raise ReplyTooLarge(self._total_limit, b"", self._what)
            start = 0
            while True:
                newline = piece.find(b"\n", start)
                if newline < 0:
                    self._add(piece[start:] if start else piece)
                    break
                self._add(piece[start:newline])
                out.append(self._end_line())
                start = newline + 1
        return out

    def finish(self) -> list[bytes | OversizedLine]:
        self._decoder.finish()
        last = self._end_line()
        return [last] if isinstance(last, OversizedLine) or last.strip() else []

    def _add(self, part: bytes) -> None:
        if not part:
            return
        if self._oversized is not None:
            return
        self._pending.append(part)
        self._pending_size += len(part)
        if self._pending_size > self._line_limit:
            self._oversized = b"".join(self._pending)[:LINE_PREFIX]
            self._pending.clear()

    def _end_line(self) -> bytes | OversizedLine:
        oversized, self._oversized = self._oversized, None
        line = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return OversizedLine(oversized) if oversized is not None else line
