"""The one place that decides whether a file named by a config or a taxonomy may be read: the path policy.

A `PathPolicy` holds one root folder the user chose (by default the recipe file's folder; wider only through the
`files_root` setting, or `--root` for `distill taxonomy validate`). For every path it hands back it guarantees:

* the path, with every `..` and every symlink resolved, lies inside the root (itself resolved);
* it is not under /proc, /dev or /sys, whatever the root (not even with `files_root: /`);
* a file it reads is a regular file (never a FIFO, device or socket), opened without following a last symlink.

A folder walk (`files_under`) lists regular files below a folder without entering symlinked folders (as
`Path.rglob` does) and without entering `.git`; a selected file whose symlink leads out of the root is refused,
not skipped. A refusal is an `InputError` (exit 2) naming what named the path (a key, or file:line), the path as
written and where it leads. Files are checked when they are read: a tree changed while distill reads it is out of
scope.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from distill.errors import InputError

NEVER_READ = (Path("/proc"), Path("/dev"), Path("/sys"))


@dataclass(frozen=True)
class Found:
    """A file found below a walked folder: its name relative to that folder (as written, `/`-separated), the path
    as walked (for messages) and the resolved path the policy checked (to read)."""

    name: str
    path: Path
    real: Path


class PathPolicy:
    def __init__(self, root: Path, *, named_by: str = "files_root",
                 widen: str = "set `files_root:` in the recipe (or --set files_root=DIR)"):
        """`named_by` is the setting that chose `root` (for its own errors); `widen` tells a refused user how to
        choose a wider root."""
        real = Path(os.path.realpath(root))
        if _never(real):
            raise InputError(f"{named_by}: {root}: distill never reads under /proc, /dev or /sys")
        if not real.is_dir():
            raise InputError(f"{named_by}: {root} is not a folder")
        self.root = real
        self.widen = widen

    def contained(self, path: Path, named_by: str) -> Path:
        """`path` resolved (`..` and every symlink), or InputError if that leads out of the root or under
        /proc, /dev or /sys. Existence is the caller's to check."""
        real = Path(os.path.realpath(path))
        leads = f"{path} leads to {real}" if real != Path(os.path.abspath(path)) else str(path)
        if _never(real):
            raise InputError(f"{named_by}: {leads}; distill never reads under /proc, /dev or /sys")
        if real != self.root and self.root not in real.parents:
            raise InputError(f"{named_by}: {leads} is outside {self.root}, the folder files named by a recipe or a "
                             f"taxonomy may be read from; move it inside, or {self.widen}")
        return real

    def files_under(self, folder: Path, named_by: str, select: Callable[[str], bool]) -> list[Found]:
        """The regular files below `folder` (itself contained) whose relative name `select` keeps, sorted by name.
        Symlinked folders and `.git` are not entered; a kept name that leads out of the root is refused."""
        top = self.contained(folder, named_by)
        found = []
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != ".git"]
            rel = Path(here).relative_to(top)
            for f in files:
                name = (rel / f).as_posix()
                if not select(name):
                    continue
                real = self.contained(folder / name, named_by)
                if _is_regular(real):
                    found.append(Found(name, folder / name, real))
        return sorted(found, key=lambda e: Path(e.name).parts)

    def symlinks_stay_inside(self, folder: Path, named_by: str) -> None:
        """Every symlink below `folder` (folders included, none entered) leads inside the root, or InputError."""
        for here, dirs, files in os.walk(self.contained(folder, named_by)):
            for name in dirs + files:
                if os.path.islink(os.path.join(here, name)):
                    self.contained(Path(here, name), named_by)

    def read_text(self, path: Path, named_by: str) -> str:
        """The UTF-8 text of `path`, after `contained`; a non-regular or unreadable file is an InputError."""
        real = self.contained(path, named_by)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise InputError(f"{named_by}: {path}: cannot read ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError(f"{named_by}: {path} is not a regular file")
            try:
                return fh.read().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{named_by}: {path}: cannot read as UTF-8 text ({exc})") from None


def _never(real: Path) -> bool:
    return any(real == p or p in real.parents for p in NEVER_READ)


def _is_regular(real: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(real).st_mode)
    except OSError:  # a dangling link (inside the root) names nothing to read
        return False
