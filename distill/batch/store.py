"""What was submitted to which batch, kept in the run's `cache.sqlite` next to the answers.

Two tables. `batch_requests` holds one row per request that is in a provider's hands: its cache key, the file it
was uploaded in, the batch it went into (NULL between an acknowledged upload and an acknowledged creation) and
how many batches it has been in. A row is written in the same moment the provider acknowledges the upload (or,
without an upload step, the creation) and deleted once the request's answer is committed to `answers`, or once
it failed for good, or is to be sent again. `batches` holds one row per batch: where it stands, its progress, the
answers collected from it and what they cost, and how many lines of its results file could not be read — what
`distill status` shows.

Every write here is its own transaction, committed before the method returns (the answers' 5 ms group commit
is for answers; these are few and each must survive a kill the moment after).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    identity BLOB NOT NULL,
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    upload TEXT,
    requests INTEGER NOT NULL,
    state TEXT NOT NULL,            -- submitted | waiting | collected | failed | lost | refused
    provider_status TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    errored INTEGER NOT NULL DEFAULT 0,
    answers INTEGER NOT NULL DEFAULT 0,
    unreadable INTEGER NOT NULL DEFAULT 0,  -- lines of its results file that could not be read
    cost_usd REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_requests (
    key BLOB PRIMARY KEY,
    identity BLOB NOT NULL,
    role TEXT NOT NULL,
    upload TEXT,
    batch TEXT,
    attempts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batch_requests_batch ON batch_requests (batch);
"""


@dataclass(frozen=True)
class Submitted:
    """A request an earlier run (or this one) put in a provider's hands."""

    key: bytes
    upload: str | None
    batch: str | None
    attempts: int


class BatchStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)
        if "unreadable" not in {row[1] for row in db.execute("PRAGMA table_info(batches)")}:  # an older cache
            db.execute("ALTER TABLE batches ADD COLUMN unreadable INTEGER NOT NULL DEFAULT 0")
            db.commit()

    def _write(self, statements: Iterable[tuple[str, Iterable[tuple[object, ...]]]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                db.executemany(sql, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- what was submitted ---------------------------------------------------------------------------------
    def uploaded(self, identity: bytes, role: str, upload: str, keys: dict[bytes, int]) -> None:
        """The provider acknowledged the file `upload` holding `keys` (key -> the batches it has been in)."""
        self._write([("INSERT OR REPLACE INTO batch_requests (key, identity, role, upload, batch, attempts) "
                      "VALUES (?, ?, ?, ?, NULL, ?)", [(k, identity, role, upload, a) for k, a in keys.items()])])

    def created(self, batch: str, identity: bytes, role: str, label: str, upload: str | None,
                keys: dict[bytes, int]) -> None:
        """The provider acknowledged the batch `batch` made of `keys` (from the file `upload`, if any)."""
        now = time.time()
        self._write([
            ("UPDATE batches SET state = 'refused', updated = ? WHERE state = 'waiting' AND upload = ?",
             [(now, upload)] if upload is not None else []),
            ("INSERT OR REPLACE INTO batches (id, identity, role, label, upload, requests, state, created, updated) "
             "VALUES (?, ?, ?, ?, ?, ?, 'submitted', ?, ?)", [(batch, identity, role, label, upload, len(keys), now,
                                                              now)]),
            ("INSERT OR REPLACE INTO batch_requests (key, identity, role, upload, batch, attempts) "
             "VALUES (?, ?, ?, ?, ?, ?)", [(k, identity, role, upload, batch, a) for k, a in keys.items()])])

    def waiting(self, row: str, identity: bytes, role: str, label: str, upload: str | None,
                keys: dict[bytes, int], reason: str) -> None:
        """The provider refused the batch `row` (or, refused as it was being made, the batch of the file `row`)
        for want of room in its queue: the requests wait in the file `upload` to be made a batch again (the row
        is `waiting` until then, `refused` after)."""
        now = time.time()
        self._write([
            ("INSERT INTO batches (id, identity, role, label, upload, requests, state, provider_status, created, "
             "updated) VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = "
             "'waiting', provider_status = excluded.provider_status, updated = excluded.updated",
             [(row, identity, role, label, upload, len(keys), reason[:300], now, now)]),
            ("UPDATE batch_requests SET batch = NULL WHERE key = ?", [(k,) for k in keys])])

    def pending(self, identity: bytes, role: str) -> list[Submitted]:
        rows = self._db.execute("SELECT key, upload, batch, attempts FROM batch_requests WHERE identity = ? AND "
                                "role = ?", (identity, role)).fetchall()
        return [Submitted(bytes(k), u, b, a) for k, u, b, a in rows]

    # --- what came back -------------------------------------------------------------------------------------
    def progress(self, batch: str, provider_status: str, done: int, errored: int) -> None:
        self._write([("UPDATE batches SET provider_status = ?, done = ?, errored = ?, updated = ? WHERE id = ?",
                      [(provider_status, done, errored, time.time(), batch)])])

    def settled(self, batch: str | None, keys: Iterable[bytes], *, state: str | None = None, answers: int = 0,
                cost: float | None = None, unreadable: int = 0) -> None:
        """`keys` are no longer in the provider's hands (answered and committed, failed for good, or to be sent
        again); with `state`, the batch is finished (collected, failed, lost) and its answers, their cost and the
        unreadable lines of its results file noted."""
        statements: list[tuple[str, Iterable[tuple[object, ...]]]] = [
            ("DELETE FROM batch_requests WHERE key = ?", [(k,) for k in keys])]
        if batch is not None and state is not None:
            statements.append(("UPDATE batches SET state = ?, answers = answers + ?, cost_usd = coalesce(cost_usd, "
                               "0) + ?, unreadable = ?, updated = ? WHERE id = ?",
                               [(state, answers, cost, unreadable, time.time(), batch)]))
        self._write(statements)


def holds_submitted(db: sqlite3.Connection) -> bool:
    """Whether requests are recorded as in a provider's hands: a folder holding them is kept, or the batches
    they are in (billed) could never be collected."""
    try:
        return db.execute("SELECT 1 FROM batch_requests LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # no such table: the folder never saw batch mode
        return False
