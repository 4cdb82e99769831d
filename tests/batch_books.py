"""The bookkeeping both scripted batch APIs keep (`openai_batch_server.py`, `anthropic_server.py`), and how
they are served.

* `BatchBooks`: the batches by id and how many were made; every request line received, counted per custom_id
  (what tests read to see that nothing was sent twice); every look at a batch, a batch ending once it was looked
  at `polls` times; and which requests met their one-time fault already.
* `damaged(lines, fault, field)`: a results file as a provider may serve it broken, for the tests of the results
  reader (`distill/batch/results.py`).
* `serve(app)`: the app on a free port of 127.0.0.1, the port printed first (how `FakeTeacher` finds it).
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterable
from typing import Any


class BatchBooks:
    def __init__(self) -> None:
        self.batches: dict[str, dict[str, Any]] = {}
        self.made = 0                         # batches made (forgotten ones too)
        self.lines: Counter[str] = Counter()  # request lines received, per custom_id
        self.polls = 0                        # looks at a batch, all batches together
        self.faulted: set[str] = set()        # requests whose one-time fault has happened

    def add(self, batch: dict[str, Any]) -> None:
        self.batches[batch["id"]] = batch
        self.made += 1

    def received(self, custom_ids: Iterable[str]) -> None:
        self.lines.update(custom_ids)

    def looked(self, batch: dict[str, Any], polls: int) -> bool:
        """One look at `batch`: True when it is the `polls`-th, the one that ends it (its `_polls` counts them)."""
        self.polls += 1
        batch["_polls"] = batch.get("_polls", 0) + 1
        return bool(batch["_polls"] >= polls)

    def first_fault(self, key: str) -> bool:
        """True the first time a request (named by `key`) is asked about: its one-time fault happens now."""
        if key in self.faulted:
            return False
        self.faulted.add(key)
        return True

    def counts(self) -> dict[str, Any]:
        return {"batches": self.made, "polls": self.polls, "lines": sum(self.lines.values()),
                "custom_ids": dict(self.lines), "faulted": sorted(self.faulted)}


FAULTS = ("cut", "array", "oops")


def damaged(lines: list[bytes], fault: str, field: str) -> bytes:
    """The JSONL results file of `lines` (one result each, no newline), damaged as `fault` says:

    * `cut`: it ends in its last line cut in half (a download that stopped mid-line);
    * `array`: it starts with `[1,2,3]`, a line that is JSON but not a result;
    * `oops`: its first line's `field` (`response`, `result`) is the string "oops" (its custom_id still readable).
    """
    if fault not in FAULTS:
        raise ValueError(f"unknown results fault {fault!r}: one of {FAULTS}")
    lines = list(lines)
    if fault == "cut" and lines:
        lines[-1] = lines[-1][:len(lines[-1]) // 2]
        return b"\n".join(lines)  # no newline after the cut line
    if fault == "array":
        lines.insert(0, b"[1,2,3]")
    if fault == "oops" and lines:
        lines[0] = json.dumps({**json.loads(lines[0]), field: "oops"}).encode()
    return b"".join(line + b"\n" for line in lines)


def serve(app: Any, **options: Any) -> None:
    """Run `app` on a free port of 127.0.0.1 and print that port (first line of stdout) before serving."""
    from aiohttp import web

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None, **options)


def config_arg() -> dict[str, Any]:
    """The `--config JSON` a scripted server's process is started with."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="{}")
    return dict(json.loads(ap.parse_args().config))
