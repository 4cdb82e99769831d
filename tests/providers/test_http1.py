"""The default transport's HTTP/1.1 client against a scripted server on 127.0.0.1: every response framing a real
server may use, keep-alive reuse, deadlines and broken connections; and the proxy route through aiohttp."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket

import pytest
from helpers import distill, read_jsonl, recipe_yaml, write

from distill.providers.http1 import ConnectFailed, Disconnected, HTTP1Client

BODY = b'{"ok": true}'


def _response(path: str) -> bytes | None:
    """The raw bytes the scripted server sends for a request to `path` (None: close without answering)."""
    if path.endswith("/length"):
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    if path.endswith("/chunked"):
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\n" + BODY[:5] + b"\r\n" + b"%x;ext=1\r\n" % (len(BODY) - 5) + BODY[5:]
                + b"\r\n0\r\nX-T: 1\r\n\r\n")
    if path.endswith("/gzip"):
        packed = gzip.compress(BODY)
        return b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    if path.endswith("/interim"):
        return b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    if path.endswith("/until-close"):
        return b"HTTP/1.0 200 OK\r\n\r\n" + BODY
    if path.endswith("/close"):
        return b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    if path.endswith("/short"):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + BODY
    return None


async def _serve(connections: list[int]) -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next(int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length"))
                body = await reader.readexactly(length)
                assert json.loads(body) == {"q": 1}
                path = lines[0].split(" ")[1]
                if path.endswith("/hang"):
                    await asyncio.sleep(30)
                reply = _response(path)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if b"HTTP/1.0" in reply or b"Connection: close" in reply or path.endswith("/short"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(paths: list[str], timeout: float = 5.0) -> tuple[list[object], int]:
    """POST to each path in turn with one client; return each outcome (response or exception) and how many
    connections the server saw."""
    connections: list[int] = []

    async def main() -> list[object]:
        server = await _serve(connections)
        port = server.sockets[0].getsockname()[1]
        client = HTTP1Client(f"http://127.0.0.1:{port}/v1", {"Authorization": "Bearer t"}, timeout)
        out: list[object] = []
        for path in paths:
            try:
                out.append(await client.post(path, b'{"q": 1}'))
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                out.append(exc)
        await client.close()
        server.close()
        return out

    return asyncio.run(main()), len(connections)


def test_every_response_framing_is_read_whole():
    out, _ = _run(["/length", "/chunked", "/gzip", "/interim", "/until-close"])
    for result in out:
        assert isinstance(result, tuple), result
        assert result[0] == 200 and result[2] == BODY


def test_connections_are_reused_until_the_server_closes_them():
    out, conns = _run(["/length"] * 5)
    assert all(r[0] == 200 for r in out) and conns == 1  # type: ignore[index]
    out, conns = _run(["/length", "/close", "/length", "/until-close", "/length"])
    assert out[1][0] == 429 and out[1][1]["retry-after"] == "3"  # type: ignore[index]
    assert conns == 3  # a new connection after each `Connection: close` and after the HTTP/1.0 body


def test_broken_exchanges_raise_and_the_next_request_gets_a_fresh_connection():
    out, conns = _run(["/drop", "/length", "/short", "/length"])
    assert isinstance(out[0], Disconnected) and isinstance(out[2], Disconnected)
    assert out[1][0] == 200 and out[3][0] == 200  # type: ignore[index]
    assert conns == 3


def test_a_request_past_its_deadline_raises_timeout():
    out, _ = _run(["/hang", "/length"], timeout=0.3)
    assert isinstance(out[0], asyncio.TimeoutError)
    assert out[1][0] == 200  # type: ignore[index]


def test_nothing_listening_is_a_connect_failure():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        client = HTTP1Client(f"http://127.0.0.1:{port}/v1", {}, 5.0)
        with pytest.raises(ConnectFailed):
            await client.post("/x", b"{}")

    asyncio.run(main())


@pytest.fixture
def forward_proxy():
    """A plain-HTTP forward proxy on 127.0.0.1 that relays absolute-URI requests and counts them."""
    import threading

    seen: list[str] = []
    ready = threading.Event()
    state: dict[str, object] = {}

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, url, version = lines[0].split(" ")
                seen.append(url)
                length = next((int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length")), 0)
                body = await reader.readexactly(length)
                host_port, _, path = url.split("://", 1)[1].partition("/")
                host, port = host_port.split(":")
                up_r, up_w = await asyncio.open_connection(host, int(port))
                kept = [h for h in lines[1:] if h and not h.lower().startswith(("proxy-", "connection"))]
                up_w.write(f"{method} /{path} {version}\r\n".encode() + "\r\n".join(kept + ["Connection: close"]
                                                                                     ).encode() + b"\r\n\r\n" + body)
                writer.write(await up_r.read())
                await writer.drain()
                up_w.close()
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(relay, "127.0.0.1", 0))
        state["port"], state["loop"] = server.sockets[0].getsockname()[1], loop
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(5)
    yield f"http://127.0.0.1:{state['port']}", seen
    loop = state["loop"]
    loop.call_soon_threadsafe(loop.stop)  # type: ignore[attr-defined]


def test_an_http_proxy_from_the_environment_is_honoured(tmp_path, teacher_server, forward_proxy):
    proxy_url, seen = forward_proxy
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Q {i}"}) + "\n" for i in range(3)))
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = distill("run", str(cfg), env={"HTTP_PROXY": proxy_url, "NO_PROXY": ""})
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 3
    assert len(seen) == 3 and all(u.startswith(teacher_server.url) for u in seen)
