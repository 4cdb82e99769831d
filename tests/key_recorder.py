"""Runs the `distill` command like `python -m distill.cli.main`, and writes what every model call's cache key is
made of — the messages, the sampling parameters and the sample number, without the endpoint's address — to the
file named by $DISTILL_KEY_LOG, one sha256 per distinct call. A test compares that set with a pinned digest, so a
change to any prompt, parameter or sample number of a recipe (which would make a resumed run call again) fails
it, whichever port the scripted server listened on."""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
from typing import Any

import orjson

import distill.engine.teacher as teacher
from distill.cli.main import main

_made: set[str] = set()
_key = teacher.call_key


def _recording(identity: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any], sample: int
               ) -> bytes:
    blob = orjson.dumps({"messages": messages, "params": params, "sample": sample}, option=orjson.OPT_SORT_KEYS)
    _made.add(hashlib.sha256(blob).hexdigest())
    return _key(identity, messages, params, sample)


def _write() -> None:
    with open(os.environ["DISTILL_KEY_LOG"], "w", encoding="utf-8") as out:
        out.write("".join(f"{k}\n" for k in sorted(_made)))


teacher.call_key = _recording  # type: ignore[assignment]
atexit.register(_write)

if __name__ == "__main__":
    sys.exit(main())
