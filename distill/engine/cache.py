"""The content-addressed call store: one SQLite row per teacher answer, committed before the answer is used.

A key is the SHA-256 of the canonical JSON of (provider identity, messages, generation parameters, sample
index). The identity (`key_identity`) is the provider's plus the teacher's `extra_body` — anything the server
reads can change its answer — with credentials left out: API keys, a key in the URL or a secret-named
`extra_body` value never change a key (a rotated key keeps the cache) and are never stored (only the hash is).
Because each answer is committed (WAL, synchronous=NORMAL) before any record is derived from it, a process
killed at any moment loses no answer it received, and a re-run sends only the calls whose answers never arrived.
Failed calls are not stored, so the next run retries them.

Cost per answer is kept small for runs of hundreds of thousands of calls:
- group commit: answers that arrive within 5 ms of each other share one transaction; each caller still waits
  (`await put(...)`) until its own answer is committed, so nothing is built from an uncommitted answer (a kill
  inside those 5 ms loses only answers nothing was made from yet; their calls are sent again);
- rows live in insertion order (integer row id) with a unique index on the 32-byte key, so a commit appends
  pages instead of rewriting random ones;
- a store that was empty when the run opened it answers look-ups of keys it never stored from a small Bloom
  filter, without touching SQLite (the first run of a large job is all misses).

Identical calls in flight at the same time are sent once (`flights`, engine/single_flight.py): the second waits for
the first and reads its answer from here, a cache hit.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from distill.engine.bloom import Bloom
from distill.engine.single_flight import SingleFlight
from distill.errors import InputError
from distill.providers.base import Choice, Completion, Usage

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    role TEXT NOT NULL,
    value BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    scope TEXT NOT NULL,
    position INTEGER NOT NULL,
    digest BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (scope, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value BLOB NOT NULL
);
"""
INSERT = "INSERT OR REPLACE INTO answers (key, role, value, created) VALUES (?, ?, ?, ?)"
SELECT = "SELECT value FROM answers WHERE key = ?"
INSERT_ITEM = "INSERT OR REPLACE INTO items (scope, position, digest, value) VALUES (?, ?, ?, ?)"
SELECT_ITEMS = "SELECT position, digest, value FROM items WHERE scope = ? AND position >= ? AND position < ?"
SET_LEDGER = "INSERT OR REPLACE INTO ledger (id, value) VALUES (0, ?)"
COMMIT_EVERY = 0.005  # seconds: answers arriving within this window share a transaction
PREFETCH = 512  # items read per query on a re-run, which asks for them in position order


def key_identity(provider: Any) -> dict[str, Any]:
    """What names a provider's answers in cache keys: its identity with credentials in the URL masked, plus
    the spec's `extra_body` (without secret-named entries) when one is set. Without `extra_body` the identity
    is the provider's own, so keys made before `extra_body` counted are unchanged."""
    from distill.redact import is_secret_name, redact_url

    identity = dict(provider.identity)
    if isinstance(identity.get("base_url"), str):
        identity["base_url"] = redact_url(identity["base_url"])
    extra = getattr(getattr(provider, "spec", None), "extra_body", None)
    if extra:
        identity["extra_body"] = {k: v for k, v in extra.items() if not is_secret_name(k)}
    return identity


def call_key(identity: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any], sample: int) -> bytes:
    blob = orjson.dumps({"id": identity, "messages": messages, "params": params, "sample": sample},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).digest()


def completion_from_json(data: dict[str, Any]) -> Completion:
    """Rebuild a Completion we wrote ourselves, without re-validating it (the hot path of a cached re-run)."""
    return Completion.model_construct(
        choices=[Choice.model_construct(text=c["text"], finish_reason=c.get("finish_reason"),
                                        reasoning=c.get("reasoning"), tool_calls=c.get("tool_calls"))
                 for c in data["choices"]],
        usage=Usage.model_construct(**data.get("usage", {})), model=data.get("model"))


def completion_to_json(completion: Completion) -> bytes:
    return orjson.dumps({"choices": [{"text": c.text, "finish_reason": c.finish_reason,
                                      **({"reasoning": c.reasoning} if c.reasoning else {}),
                                      **({"tool_calls": c.tool_calls} if c.tool_calls else {})}
                                     for c in completion.choices],
                         "usage": {"prompt_tokens": completion.usage.prompt_tokens,
                                   "completion_tokens": completion.usage.completion_tokens},
                         "model": completion.model})


def unreadable(path: Path, exc: sqlite3.DatabaseError) -> InputError:
    """The one message (exit 2) for a cache file SQLite cannot read (a damaged header or pages): what it is and
    what to do, for every command that opens it. A lock, a full disk, a read-only file (OperationalError) are
    other problems and are not described as damage."""
    return InputError(f"{path} is not a readable SQLite database ({exc}): this run folder's cache of teacher "
                      f"answers is damaged. distill leaves it as it is: move it away (mv '{path}' "
                      f"'{path}.damaged') and run the same `distill run` command again; the run then asks the "
                      "teacher again for the answers that were in it.")


def is_damage(exc: BaseException) -> bool:
    """Whether an sqlite3 error means the file itself is unreadable (not a database, malformed)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


class CallCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint=10000")  # checkpoint every ~40 MB of log, not every 4 MB
            self._db.executescript(SCHEMA)
            self._upgrade()
            self._empty_at_open = (self._db.execute("SELECT 1 FROM answers LIMIT 1").fetchone() is None
                                   and self._db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if is_damage(exc):
                raise unreadable(path, exc) from None
            raise
        self._pending: dict[bytes, tuple[bytes, str, bytes, float]] = {}
        self._pending_items: dict[tuple[str, int], tuple[str, int, bytes, bytes]] = {}
        self._window: tuple[str, int, dict[int, tuple[bytes, bytes]]] = ("", -1, {})  # prefetched items
        self._batch: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stored = Bloom()  # keys stored by this process (consulted only when the file started empty)
        self._ledger: Callable[[], bytes] | None = None
        self.flights = SingleFlight()  # calls on their way, by key: an identical call waits for the first

    def _upgrade(self) -> None:
        """Carry answers over from the first layout (a `calls` table keyed by hex text), then drop it."""
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='calls'").fetchone() is None:
            return
        rows = self._db.execute("SELECT key, role, completion, created FROM calls").fetchall()
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR IGNORE INTO answers (key, role, value, created) VALUES (?, ?, ?, ?)",
                             [(bytes.fromhex(k), r, v, c) for k, r, v, c in rows])
        self._db.execute("DROP TABLE calls")
        self._db.execute("COMMIT")

    # --- reads (synchronous: a look-up never waits for the network) -----------------------------------------
    def _lookup(self, key: bytes) -> bytes | None:
        row = self._pending.get(key)
        if row is not None:
            return row[2]
        if self._empty_at_open and key not in self._stored:
            return None
        found = self._db.execute(SELECT, (key,)).fetchone()
        return None if found is None else found[0]  # type: ignore[no-any-return]

    def recall(self, scope: str, position: int, digest: bytes) -> bytes | None:
        """The stored log (see `item_log.py`) of the item at `position` of `scope`, if it was made from an item
        with this digest; else None. Items are stored and read in position order, so a re-run reads the table
        front to back instead of jumping around it."""
        pending = self._pending_items.get((scope, position))
        if pending is not None:
            return pending[3] if pending[2] == digest else None
        if self._empty_at_open:
            return None
        window_scope, start, rows = self._window
        if window_scope != scope or not start <= position < start + PREFETCH:
            start = position
            rows = {p: (d, v) for p, d, v in self._db.execute(SELECT_ITEMS, (scope, start, start + PREFETCH))}
            self._window = (scope, start, rows)
        found = rows.get(position)
        return found[1] if found is not None and found[0] == digest else None

    def remember(self, scope: str, position: int, digest: bytes, blob: bytes) -> None:
        """Keep a finished item's log; committed with the next batch of answers (nobody waits for it)."""
        self._pending_items[(scope, position)] = (scope, position, digest, blob)
        self._schedule()

    def get(self, key: bytes) -> Completion | None:
        blob = self._lookup(key)
        return None if blob is None else completion_from_json(orjson.loads(blob))

    def get_raw(self, key: bytes) -> Any:
        """A stored JSON value that is not a completion (e.g. reward scores), or None."""
        blob = self._lookup(key)
        return None if blob is None else orjson.loads(blob)

    def ledger(self) -> Any:
        """The usage history kept beside the answers (engine/usage_ledger.py), or None."""
        row = self._db.execute("SELECT value FROM ledger WHERE id = 0").fetchone()
        return None if row is None else orjson.loads(row[0])

    def keep_ledger(self, value: Callable[[], bytes]) -> None:
        """Write `value()` as the usage history in every transaction that commits answers, so it always counts
        the answers the file holds."""
        self._ledger = value

    # --- writes (asynchronous: returns once the value is committed) -----------------------------------------
    async def put(self, key: bytes, role: str, completion: Completion) -> None:
        await self._store(key, role, completion_to_json(completion))

    async def put_raw(self, key: bytes, role: str, value: Any) -> None:
        await self._store(key, role, orjson.dumps(value))

    async def _store(self, key: bytes, role: str, blob: bytes) -> None:
        self._pending[key] = (key, role, blob, time.time())
        self._stored.add(key)
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        self._schedule()
        await asyncio.shield(self._batch)

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._commit()
            return
        self._timer = loop.call_later(COMMIT_EVERY, self._commit)

    def _commit(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, rows, items = self._batch, list(self._pending.values()), list(self._pending_items.values())
        self._batch = None
        try:
            self._db.execute("BEGIN")
            self._db.executemany(INSERT, rows)
            self._db.executemany(INSERT_ITEM, items)
            if rows and self._ledger is not None:
                self._db.execute(SET_LEDGER, (self._ledger(),))
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._pending.clear()
            self._pending_items.clear()
            if batch is not None and not batch.done():
                batch.set_exception(exc)
            return
        self._pending.clear()
        self._pending_items.clear()
        if batch is not None and not batch.done():
            batch.set_result(None)

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the few records kept beside the answers in this file (what batch mode submitted:
        `batch/store.py`). Used from the event loop's thread only, each write its own committed transaction."""
        return self._db

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0]) + len(self._pending)

    def close(self) -> None:
        if self._pending or self._pending_items:  # e.g. a put whose caller was cancelled: still kept
            self._batch = None
            self._commit()
        self._db.close()
