"""A hostile HTTP server on 127.0.0.1 that attacks the client rather than the content: what it sends is chosen by
the first segment of the request path (`base_url: http://127.0.0.1:PORT/<payload>/v1`), for every API distill
speaks (chat completions, Anthropic messages, both batch APIs):

    gzip-bomb        1 MB of gzip that inflates to 1 GB
    huge-length      `Content-Length: 2147483648`, then zeros as fast as the client reads
    big-json         a well-formed 50 MB answer (chat completion, message, or batch results line)
    endless-chunked  a chunked body that never ends
    endless-head     a response head that never ends
    bad-length       `Content-Length: abc`
    continue-flood   `100 Continue` heads, forever
    redirect         307 (a POST) or 302 (a GET) to the same path on `redirect_to` (another server)
    ok               a good, small answer

`HostileServer` runs it in a thread and records each request's method, path and headers. `python
tests/hostile_server.py drive CLIENT URL` is the other end: it calls one real client (under the address-space
limit given by DRIVE_MEMORY_LIMIT, in bytes) and prints the outcome as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import threading
import zlib
from typing import Any

GIB = 1 << 30
BIG_TEXT = 50 << 20
_BOMB: bytes | None = None


def gzip_bomb() -> bytes:
    """gzip of 1 GiB of zeros (about 1 MB), made once: one deflated MiB of zeros, ended by a full flush (so it
    stands alone), repeated 1024 times."""
    global _BOMB
    if _BOMB is None:
        block = bytes(1 << 20)
        raw = zlib.compressobj(9, zlib.DEFLATED, -15)
        mib = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
        crc = 0
        for _ in range(1024):
            crc = zlib.crc32(block, crc)
        _BOMB = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + mib * 1024 + raw.flush()
                 + struct.pack("<II", crc, (1024 << 20) & 0xFFFFFFFF))
    return _BOMB


def answer_json(path: str, text_size: int) -> bytes:
    """A well-formed answer for `path` whose text is `text_size` bytes."""
    text = "a" * text_size
    if path.endswith("/messages"):
        return json.dumps({"type": "message", "model": "m", "content": [{"type": "text", "text": text}],
                           "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}).encode()
    if "/batches/" in path:  # a batch: ended, its results on this server
        prefix = path.split("/batches/")[0]
        return json.dumps({"id": "b1", "status": "completed", "processing_status": "ended",
                           "output_file_id": "f1", "request_counts": {"total": 2, "completed": 2},
                           "results_url": f"http://127.0.0.1:{{port}}{prefix}/results/b1"}).encode()
    return json.dumps({"id": "c", "object": "chat.completion", "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode()


def results_lines(text_size: int) -> bytes:
    """A batch results file (both APIs' line shapes): one small answer, then one of `text_size` bytes."""
    def line(custom_id: str, size: int) -> bytes:
        body = json.loads(answer_json("/chat/completions", size))
        message = json.loads(answer_json("/messages", size))
        return json.dumps({"custom_id": custom_id, "response": {"status_code": 200, "body": body},
                           "result": {"type": "succeeded", "message": message}}).encode() + b"\n"
    return line("aa", 5) + line("bb", text_size)


class HostileServer:
    def __init__(self, redirect_to: str | None = None) -> None:
        self.redirect_to = redirect_to
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, payload: str, root: str = "/v1") -> str:
        return f"http://127.0.0.1:{self.port}/{payload}{root}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((method, path, headers))
                if not await self._answer(writer, method, path.split("?")[0]):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, method: str, path: str) -> bool:
        """Send the payload; True when the connection may serve another request."""
        payload = path.split("/")[1]
        if payload == "redirect":
            status = b"307 Temporary Redirect" if method == "POST" else b"302 Found"
            target = f"{self.redirect_to}{path.removeprefix('/redirect')}".encode()
            writer.write(b"HTTP/1.1 %s\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (status, target))
            return True
        big = payload == "big-json"
        if path.endswith("/content") or "/results/" in path:
            body = results_lines(BIG_TEXT if big else 5)
        else:
            body = answer_json(path, BIG_TEXT if big else 5).replace(b"{port}", str(self.port).encode())
        if payload in ("ok", "big-json") or "/batches/" in path and payload not in ("endless-head", "bad-length",
                                                                                    "continue-flood"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                         + body)
            await writer.drain()
            return True
        if payload == "gzip-bomb":
            bomb = gzip_bomb()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb))
            writer.write(bomb)
        elif payload == "huge-length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * GIB))
            await _forever(writer, bytes(1 << 20))
        elif payload == "endless-chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            await _forever(writer, b"100000\r\n" + b"a" * 0x100000 + b"\r\n")
        elif payload == "endless-head":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            await _forever(writer, b"X-Pad: " + b"a" * 100 + b"\r\n")
        elif payload == "bad-length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}")
        elif payload == "continue-flood":
            await _forever(writer, b"HTTP/1.1 100 Continue\r\n\r\n" * 1000)
        await writer.drain()
        return False


async def _forever(writer: asyncio.StreamWriter, block: bytes) -> None:
    """Write `block` until the client hangs up."""
    while True:
        writer.write(block)
        await writer.drain()


# --- the client end -------------------------------------------------------------------------------------------
async def _drive(client: str, url: str) -> dict[str, Any]:
    from distill.providers.base import GenerationParams

    messages = [{"role": "user", "content": "hi"}]
    params = GenerationParams(max_tokens=8)
    if client in ("http", "aiohttp"):
        from distill.providers.openai_http import OpenAIHTTPProvider
        from distill.providers.options import OpenAISpec

        provider: Any = OpenAIHTTPProvider(OpenAISpec(model="m", base_url=url, transport=client, timeout=60))
        call: Any = provider.complete(messages, params)
    elif client == "anthropic":
        from distill.providers.anthropic import AnthropicProvider
        from distill.providers.options import AnthropicSpec

        provider = AnthropicProvider(AnthropicSpec(model="m", base_url=url.removesuffix("/v1"), timeout=60))
        call = provider.complete(messages, params)
    else:
        from distill.batch.anthropic_batch import AnthropicBatchBackend
        from distill.batch.openai_batch import OpenAIBatchBackend
        from distill.providers.options import AnthropicSpec, OpenAISpec

        limit = {"max_batch_results_bytes": 256 << 20}  # the 8 GiB default is reached too, only slowly
        if client == "batch-openai":
            provider = OpenAIBatchBackend(OpenAISpec(model="m", base_url=url, timeout=60, **limit))
        else:
            provider = AnthropicBatchBackend(AnthropicSpec(model="m", base_url=url.removesuffix("/v1"), timeout=60,
                                                           **limit))

        async def collect() -> list[Any]:
            await provider.poll("b1")
            return [(cid, type(r).__name__, getattr(r, "kind", None)) async for cid, r in provider.results("b1")]
        call = collect()
    try:
        got = await call
        outcome: dict[str, Any] = {"outcome": "answer", "answer": got if isinstance(got, list) else
                                   len(got.choices[0].text)}
    except Exception as exc:  # the outcome is what the test looks at
        outcome = {"outcome": type(exc).__name__, "field": getattr(exc, "field", None), "message": str(exc)}
    finally:
        await provider.close()
    return outcome


def main() -> None:
    import os
    import resource

    if sys.argv[1:2] != ["drive"]:
        raise SystemExit("usage: hostile_server.py drive CLIENT URL")
    limit = int(os.environ.get("DRIVE_MEMORY_LIMIT", "0"))
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    outcome = asyncio.run(asyncio.wait_for(_drive(sys.argv[2], sys.argv[3]), 120))
    with open("/proc/self/status") as status:  # VmHWM: this process's peak (ru_maxrss may be the parent's)
        peak = next(line for line in status if line.startswith("VmHWM:"))
    outcome["peak_rss_mb"] = int(peak.split()[1]) // 1024
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
