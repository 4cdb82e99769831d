"""The run folder `outputs/<name>/`: where records land, and how a crash can never leave them half-written.

While a run works, records are appended (as they complete) to `*.jsonl.partial` files. Only a run that finishes
turns them into `data.jsonl`, `rejected.jsonl` and `failed.jsonl` (sorted into input order, written to a temp file
and renamed), then writes `manifest.json` last. A killed run leaves only partial files, which the next run of
the same command discards and rebuilds from the call cache (`cache.sqlite`) — so no answer is paid twice and no
record is lost or duplicated.

distill writes only into a folder that is new, empty, or its own run folder: one marked by a `.distill-run`
file (written when the folder is first prepared), or an older run folder made before the marker existed,
recognised by its manifest or call cache (it is adopted and marked). Anything else — a folder holding someone's
files, `.` inside a repository, `/` — is refused before anything is written and before any call.

Every secret distill was given (distill/secrets.py) is masked, by value, in each JSONL row as it is appended and
in every text file written whole (`write_atomic` with text, `write_json_atomic`): the manifest, the card, the
report. Bytes given to `write_atomic` (an image) are written as they are.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from array import array
from pathlib import Path
from typing import IO, Any

import orjson

from distill.errors import InputError
from distill.redact import clean_text
from distill.secrets import mask, mask_bytes

OUTPUTS = ("data", "rejected", "failed", "pairs")
MIN_FREE_BYTES = 64 * 1024 * 1024
Part = int | tuple[int, ...]


def order_key(item_index: Part, sub_index: Part = 0, stage: int = 0) -> str:
    """Where a row sorts in the final files: by stage, then item, then sub-item (input order, not finish order).

    Each part is a non-negative int or a tuple of them (a recipe's own structure, such as leaf, chunk, seed
    context); the key compares like the flat tuple (stage, *item, *sub). It is a string of length-prefixed hex
    numbers, so it sorts like that tuple whatever the sizes: no input is large enough to make two different
    positions collide or cross, which arithmetic on fixed widths (`leaf * 1000 + chunk`) cannot promise."""
    out = [_number(stage)]
    for part in (item_index, sub_index):
        if isinstance(part, tuple):
            out += [_number(n) for n in part]
        else:
            out.append(_number(part))
    return "".join(out)


def _number(n: int) -> str:
    """A non-negative int as one letter giving its number of hex digits, then the digits: two such strings compare
    like the numbers, and none is a prefix of another, so a concatenation compares like the tuple."""
    if n < 0:
        raise ValueError(f"order key parts are non-negative, got {n}")
    digits = f"{n:x}"
    if len(digits) > 62:
        raise ValueError(f"order key part too large: {n}")
    return chr(0x40 + len(digits)) + digits


class _Stream:
    """One append-only partial file plus the (order, offset, length) of each line, for the final sort."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[bytes] = open(path, "wb")
        self.orders: list[str] = []
        self.offsets = array("q")
        self.lengths = array("l")
        self.pos = 0

    def append(self, order: str, row: dict[str, Any]) -> None:
        line = mask_bytes(orjson.dumps(row)) + b"\n"
        self.fh.write(line)
        self.orders.append(order)
        self.offsets.append(self.pos)
        self.lengths.append(len(line))
        self.pos += len(line)

    def read(self, i: int) -> dict[str, Any]:
        """Row `i` (in append order) back from the partial file."""
        self.fh.flush()
        with open(self.path, "rb") as fh:
            fh.seek(self.offsets[i])
            return orjson.loads(fh.read(self.lengths[i]))  # type: ignore[no-any-return]

    def finish(self, final: Path, keep: list[bool] | None = None) -> int:
        self.fh.flush()
        self.fh.close()
        rows = range(len(self.orders)) if keep is None else [i for i in range(len(self.orders)) if keep[i]]
        ranked = sorted(rows, key=self.orders.__getitem__)
        tmp = final.with_suffix(".jsonl.tmp")
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            for i in ranked:
                src.seek(self.offsets[i])
                dst.write(src.read(self.lengths[i]))
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, final)
        self.path.unlink()
        return len(ranked)


MARKER = ".distill-run"
SQLITE_HEADER = b"SQLite format 3\0"
EXPORTS = ("data.parquet", "messages.parquet", "alpaca.parquet", "sharegpt.parquet", "preference.parquet")


def _finished_recipe(path: Path) -> str | None:
    try:
        recipe = orjson.loads((path / "manifest.json").read_bytes()).get("recipe")
    except (OSError, ValueError, AttributeError):
        return None
    return recipe if isinstance(recipe, str) else None


def _made_by_distill(path: Path) -> bool:
    """A run folder from before the marker: its manifest says distill wrote it, or its call cache is there."""
    try:
        manifest = orjson.loads((path / "manifest.json").read_bytes())
        if isinstance(manifest, dict) and "distill_version" in manifest and "recipe" in manifest:
            return True
    except (OSError, ValueError):
        pass
    try:
        with open(path / "cache.sqlite", "rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def is_run_folder(path: Path) -> bool:
    """A folder distill made for a run: marked, or an older run recognised by its manifest or cache."""
    return path.is_dir() and ((path / MARKER).is_file() or _made_by_distill(path))


def check_folder(path: Path) -> None:
    """Refuse (InputError, exit 2) an output folder distill may not write into; writes nothing."""
    if path.exists() and not path.is_dir():
        raise InputError(f"output folder {path} is a file, not a folder. Choose another --out (or name:).")
    if not path.is_dir() or (path / MARKER).is_file():
        return
    try:
        entries = sorted(p.name for p in path.iterdir())
    except OSError as exc:
        raise InputError(f"output folder {path} cannot be read ({exc.strerror}). Choose another --out.") from None
    if not entries or _made_by_distill(path):
        return
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    raise InputError(f"output folder {path} is not empty and is not a distill run folder (it holds {shown}). "
                     "distill writes only into a new or empty folder or one of its own run folders, so it never "
                     "overwrites or deletes a file it did not write. Choose another --out (or name:).")


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.removed_exports: list[str] = []
        self._lock_fh: IO[str] | None = None
        self.streams: dict[str, _Stream] = {}

    def prepare(self, recipe: str) -> None:
        """Create (or adopt) the folder and mark it as a run folder, take its lock, prove it is writable with room
        to spare, and clear partial files of an interrupted run. Raises InputError before any teacher call and
        before writing anything if the folder is not distill's (see `check_folder`), if it holds another
        recipe's finished run (its dataset would be replaced), or if any of the rest fails."""
        check_folder(self.path)
        previous = _finished_recipe(self.path)
        if previous is not None and previous != recipe:
            raise InputError(f"output folder {self.path} holds a finished {previous!r} run; this {recipe!r} run "
                             "would replace its dataset. Choose another --out (or name:), or delete the folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            marker = self.path / MARKER
            if not marker.is_file():  # also proves the folder is writable
                marker.write_bytes(orjson.dumps({"distill_run": 1, "recipe": recipe, "marked": time.time()}))
        except OSError as exc:
            raise InputError(f"output folder {self.path} is not writable ({exc.strerror}). "
                             "Choose another with --out or fix its permissions.") from None
        free = shutil.disk_usage(self.path).free
        if free < MIN_FREE_BYTES:
            raise InputError(f"output folder {self.path} has only {free // 2**20} MB free; distill needs at least "
                             f"{MIN_FREE_BYTES // 2**20} MB. Free some space or choose another --out.")
        self._lock_fh = open(self.path / ".lock", "w")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another distill run is writing to {self.path}; wait for it or use another --out"
                             ) from None
        for name in OUTPUTS:
            for leftover in (self.path / f"{name}.jsonl.partial", self.path / f"{name}.jsonl.tmp"):
                leftover.unlink(missing_ok=True)
        (self.path / "manifest.json.tmp").unlink(missing_ok=True)

    @property
    def cache_path(self) -> Path:
        return self.path / "cache.sqlite"

    def open_streams(self) -> None:
        """Start the partial files empty (again, for each round of a run with a target: a round replays every
        item of the rounds before it)."""
        for stream in self.streams.values():
            if not stream.fh.closed:
                stream.fh.close()
        self.streams = {name: _Stream(self.path / f"{name}.jsonl.partial") for name in OUTPUTS}

    def write(self, stream: str, order: str, row: dict[str, Any]) -> None:
        if stream == "failed" and isinstance(row.get("error"), str):  # a server's words: no secrets, no escapes
            row = {**row, "error": clean_text(row["error"], 2000)}
        self.streams[stream].append(order, row)

    def flush(self) -> None:
        for s in self.streams.values():
            if not s.fh.closed:
                s.fh.flush()

    def finish(self, manifest: dict[str, Any], keep_data: list[bool] | None = None,
               keep_pairs: list[bool] | None = None) -> dict[str, int]:
        """Write the final files (data filtered by `keep_data` when a selection or a target ran, pairs by
        `keep_pairs` when a target ran), then the manifest."""
        keep = {"data": keep_data, "pairs": keep_pairs}
        counts = {name: s.finish(self.path / f"{name}.jsonl", keep.get(name)) for name, s in self.streams.items()}
        write_json_atomic(self.path / "manifest.json", manifest)
        self.removed_exports = [p.name for p in map(self.path.joinpath, EXPORTS) if p.exists()]
        for name in self.removed_exports:  # made by `distill export` from the records just replaced
            (self.path / name).unlink()
        return counts

    def pending_bytes(self) -> int:
        """Bytes of partial records so far: what `finish` will copy once more into the final files."""
        return sum(s.pos for s in self.streams.values())

    def write_text(self, name: str, text: str) -> None:
        """A whole file in the run folder, written to a temp file first so a full disk never leaves half of it."""
        write_atomic(self.path / name, text)

    def discard_partials(self) -> None:
        """After a fatal error (a full disk included): close and remove partial and temporary files."""
        for stream in self.streams.values():
            if not stream.fh.closed:
                try:
                    stream.fh.close()  # its flush fails on a full disk; the file goes anyway
                except OSError:
                    pass
            stream.path.unlink(missing_ok=True)
        for name in OUTPUTS:
            (self.path / f"{name}.jsonl.tmp").unlink(missing_ok=True)
        for name in ("manifest.json.tmp", "README.md.tmp"):
            (self.path / name).unlink(missing_ok=True)

    def release(self) -> None:
        self.flush()
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, mask_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)),
                 sync=True)


def write_atomic(path: Path, data: str | bytes, *, sync: bool = False) -> None:
    """Replace `path` with `data` whole or not at all: written to `path.tmp` first (removed if that fails, e.g. on
    a full disk), then renamed over it, so the file a user had before stays until the new one is complete. Text
    is written with every known secret masked; bytes (an image) as they are."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(mask(data).encode("utf-8") if isinstance(data, str) else data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
