"""Running out of disk space: noticed as the run goes, turned into a clean stop with a message (exit 3).

`prepare` already refuses to start with less than 64 MB free. During the run a watcher looks at the free space
of the run folder's disk twice a second; when it falls below what finishing needs (the partial files are copied
once more into the final files, plus a margin) the recipe is stopped. Every answer received is committed to the
cache first (its commit does not need the margin), partial and temporary files are removed, and the message says
how to resume. A write that fails anyway — `OSError` ENOSPC/EDQUOT, SQLite's "database or disk is full" — is
turned into the same message instead of a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import shutil
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from distill.errors import DiskFull

RUNNING_RESERVE = 8 * 1024 * 1024  # bytes kept free beyond what finishing the run needs
CHECK_EVERY = 0.5  # seconds
T = TypeVar("T")
SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == SQLITE_FULL) or "disk is full" in str(exc)
    return False


def disk_full(folder: Path, detail: str, *, all_kept: bool = False) -> DiskFull:
    """The message. `all_kept`: the watcher stopped the run in time, so every answer was committed; after a failed
    write, the answers of the batch being committed when the disk filled may be asked again."""
    kept = ("Every answer received so far is kept" if all_kept else
            "Every answer committed before the disk filled is kept (the last few may be asked again)")
    return DiskFull(f"the disk holding {folder} is full ({detail}); the run stopped. {kept} in "
                    f"{folder / 'cache.sqlite'}. Free some space (or choose another --out) and run the same command "
                    "again to resume: no answer that was kept is requested twice.")


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def shortfall(folder: Path, pending_bytes: int) -> str | None:
    """Why the run must stop now for lack of space, or None. `pending_bytes`: what finishing will copy."""
    need = RUNNING_RESERVE + pending_bytes
    try:
        free = free_bytes(folder)
    except OSError:
        return None
    if free >= need:
        return None
    return f"{free / 2**20:.1f} MB free, finishing needs about {need / 2**20:.1f} MB"


async def guarded(main: Awaitable[T], folder: Path, pending_bytes: Any) -> T:
    """Await `main`, stopping it with `DiskFull` if free space runs short (`pending_bytes()` is re-read each
    time) or if it fails on a full disk."""
    task = asyncio.ensure_future(main)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CHECK_EVERY)
            if done:
                break
            low = shortfall(folder, pending_bytes())
            if low is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise disk_full(folder, low, all_kept=True)
    except BaseException:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        raise
    try:
        return task.result()
    except (OSError, sqlite3.Error) as exc:
        if is_disk_full(exc):
            raise disk_full(folder, str(exc)) from None
        raise
