"""A teacher endpoint on 127.0.0.1 that refuses every POST with one status and a body made from the request's
headers: how tests script a server that echoes what it was sent (a key, terminal escapes) into its error."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class ErrorServer:
    def __init__(self, status: int, body: Callable[[Message], bytes],
                 content_type: str = "application/json") -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = body(self.headers)  # case-insensitive .get, .items() in order
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()


def respond_against(server: ErrorServer, tmp_path: Path, key: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`distill run` of a 3-row respond recipe against `server` with `key` in MY_KEY and no retries; the server is
    closed afterwards. The process and the run folder."""
    from helpers import distill, write, write_instructions

    try:
        inp = write_instructions(tmp_path / "in.jsonl", 3)
        out = tmp_path / "run"
        cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                         f"'{server.url}', api_key_env: MY_KEY, max_retries: 0}}\n"
                                         f"input: {{path: {inp}}}\nout: {out}\n")
        return distill("run", str(cfg), "--no-progress", env={"MY_KEY": key}), out
    finally:
        server.close()
