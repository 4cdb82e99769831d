"""llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`) serving the packaged SmolLM2 GGUF
on a free 127.0.0.1 port, for tests at the real boundary. Start it from a module-scoped fixture:

    with serve_smollm2(tmp_path_factory.mktemp("llama")) as url: ...   # url ends in /v1

`threads`: llama.cpp's threads; one keeps a long test steady on a machine whose cores are busy with other work
(two threads that wait on each other crawl when either is descheduled).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serve_smollm2(log_dir: Path, threads: int = 2, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """`extra`: more server arguments (`("--chat_format", "chatml-function-calling")` for native tool calls)."""
    from distill.providers.llama_process import worker_env
    from distill.providers.local import packaged_gguf

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    log = (log_dir / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_gguf()),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                             "--n_threads", str(threads), *extra],
                            stdout=log, stderr=subprocess.STDOUT, env=worker_env())  # threads sleep when they wait
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            assert proc.poll() is None, f"llama_cpp.server exited (see {log.name})"
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
