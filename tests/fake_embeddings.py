"""An OpenAI-compatible `/v1/embeddings` server on 127.0.0.1 for the report tests: each text's vector is its
bag of lower-cased words hashed into 64 dimensions, so texts with the same words (in any order) get cosine 1.
Runs in a thread of the test process; `requests` and `texts` count what it was asked."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 64


def vector(text: str) -> list[float]:
    v = [0.0] * DIM
    for w in re.findall(r"\w+", text.lower()):
        v[int(hashlib.sha1(w.encode()).hexdigest(), 16) % DIM] += 1.0
    return v


class FakeEmbeddings:
    def __init__(self) -> None:
        self.requests = 0
        self.texts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/embeddings":
                    self.send_error(404)
                    return
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                outer.requests += 1
                outer.texts += len(texts)
                reply = json.dumps({"object": "list", "model": body["model"],
                                    "data": [{"object": "embedding", "index": i, "embedding": vector(t)}
                                             for i, t in enumerate(texts)],
                                    "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEmbeddings:  # noqa: PYI034
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
