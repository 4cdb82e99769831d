"""The content-addressed call store: one SQLite row per teacher answer, committed before the answer is used.

A key is the SHA-256 of the canonical JSON of (provider identity, messages, generation parameters, sample
index). API keys are never part of it. Because each answer is committed (WAL, synchronous=NORMAL) before any
record is derived from it, a process killed at any moment loses no answer it received, and a re-run sends only
the calls whose answers never arrived. Failed calls are not stored, so the next run retries them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from distill.providers.base import Choice, Completion, Usage

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    completion BLOB NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
"""


def call_key(identity: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any], sample: int) -> str:
    blob = orjson.dumps({"id": identity, "messages": messages, "params": params, "sample": sample},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()


def completion_from_json(data: dict[str, Any]) -> Completion:
    """Rebuild a Completion we wrote ourselves, without re-validating it (the hot path of a cached re-run)."""
    return Completion.model_construct(
        choices=[Choice.model_construct(text=c["text"], finish_reason=c.get("finish_reason"))
                 for c in data["choices"]],
        usage=Usage.model_construct(**data.get("usage", {})), model=data.get("model"))


class CallCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def get(self, key: str) -> Completion | None:
        row = self._db.execute("SELECT completion FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return completion_from_json(orjson.loads(row[0]))

    def put(self, key: str, role: str, completion: Completion) -> None:
        self._db.execute("INSERT OR REPLACE INTO calls (key, role, completion, created) VALUES (?, ?, ?, ?)",
                         (key, role, orjson.dumps(completion.model_dump()), time.time()))

    def get_raw(self, key: str) -> Any:
        """A stored JSON value that is not a completion (e.g. reward scores), or None."""
        row = self._db.execute("SELECT completion FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def put_raw(self, key: str, role: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO calls (key, role, completion, created) VALUES (?, ?, ?, ?)",
                         (key, role, orjson.dumps(value), time.time()))

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        self._db.close()
