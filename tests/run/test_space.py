"""`run/space.py` driven directly: when free space falls below what finishing the run needs, the run is stopped
with the disk-full message (exit 3, how to resume) and its work is cancelled; a write that fails on a full disk
(ENOSPC, or SQLite's "database or disk is full") becomes the same message, not a traceback; anything else
is left alone."""

from __future__ import annotations

import asyncio
import errno
import sqlite3

import pytest

from distill.errors import DiskFull
from distill.run import space

MB = 2**20


@pytest.fixture
def disk(monkeypatch) -> dict[str, int]:
    free = {"bytes": 500 * MB}
    monkeypatch.setattr(space, "free_bytes", lambda path: free["bytes"])
    monkeypatch.setattr(space, "CHECK_EVERY", 0.001)
    return free


def test_the_run_stops_when_the_disk_fills_and_its_work_is_cancelled(tmp_path, disk):
    cancelled = []

    async def run() -> None:
        try:
            for _ in range(100_000):
                disk["bytes"] -= 10 * MB  # another program fills the disk while answers come in
                await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(DiskFull) as stopped:
        asyncio.run(space.guarded(run(), tmp_path, lambda: 4 * MB))
    assert cancelled == [True]
    message = str(stopped.value)
    assert "Every answer received so far is kept" in message and "run the same command again" in message
    assert disk["bytes"] < space.RUNNING_RESERVE + 4 * MB


def test_finishing_needs_room_for_the_partial_files_copied_once_more(tmp_path, disk):
    disk["bytes"] = 100 * MB
    assert space.shortfall(tmp_path, 50 * MB) is None
    assert "finishing needs about" in space.shortfall(tmp_path, 95 * MB)


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   OSError(errno.EDQUOT, "Disk quota exceeded"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_a_write_failing_on_a_full_disk_becomes_the_message(tmp_path, disk, error):
    async def run() -> None:
        raise error

    with pytest.raises(DiskFull, match="is full") as stopped:
        asyncio.run(space.guarded(run(), tmp_path, lambda: 0))
    assert "the last few may be asked again" in str(stopped.value)


@pytest.mark.parametrize("error", [OSError(errno.EACCES, "Permission denied"), sqlite3.OperationalError("locked"),
                                   ValueError("a bug")])
def test_other_errors_are_not_called_a_full_disk(tmp_path, disk, error):
    async def run() -> None:
        raise error

    with pytest.raises(type(error)):
        asyncio.run(space.guarded(run(), tmp_path, lambda: 0))


def test_a_run_with_room_returns_its_result(tmp_path, disk):
    async def run() -> str:
        await asyncio.sleep(0.01)
        return "done"

    assert asyncio.run(space.guarded(run(), tmp_path, lambda: 10 * MB)) == "done"
