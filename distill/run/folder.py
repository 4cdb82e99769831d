"""The run folder `outputs/<name>/`: where records land, and how a crash can never leave them half-written.

While a run works, records are appended (as they complete) to `*.jsonl.partial` files. Only a run that finishes
turns them into `data.jsonl`, `rejected.jsonl` and `failed.jsonl` (sorted into input order, written to a temp file
and renamed), then writes `manifest.json` last. A killed run leaves only partial files, which the next run of
the same command discards and rebuilds from the call cache (`cache.sqlite`) — so no answer is paid twice and no
record is lost or duplicated.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from array import array
from pathlib import Path
from typing import IO, Any

import orjson

from distill.errors import InputError

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
        line = orjson.dumps(row) + b"\n"
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


EXPORTS = ("data.parquet", "messages.parquet", "alpaca.parquet", "sharegpt.parquet", "preference.parquet")


def _finished_recipe(path: Path) -> str | None:
    try:
        recipe = orjson.loads((path / "manifest.json").read_bytes()).get("recipe")
    except (OSError, ValueError, AttributeError):
        return None
    return recipe if isinstance(recipe, str) else None


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.removed_exports: list[str] = []
        self._lock_fh: IO[str] | None = None
        self.streams: dict[str, _Stream] = {}

    def prepare(self, recipe: str) -> None:
        """Create the folder, take its lock, prove it is writable with room to spare, and clear partial files
        of an interrupted run. Raises InputError before any teacher call if any of that fails, or if the folder
        holds another recipe's finished run (its dataset would be replaced)."""
        previous = _finished_recipe(self.path)
        if previous is not None and previous != recipe:
            raise InputError(f"output folder {self.path} holds a finished {previous!r} run; this {recipe!r} run "
                             "would replace its dataset. Choose another --out (or name:), or delete the folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-probe"
            probe.write_bytes(b"ok")
            probe.unlink()
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
        self.streams = {name: _Stream(self.path / f"{name}.jsonl.partial") for name in OUTPUTS}

    def write(self, stream: str, order: str, row: dict[str, Any]) -> None:
        self.streams[stream].append(order, row)

    def flush(self) -> None:
        for s in self.streams.values():
            if not s.fh.closed:
                s.fh.flush()

    def finish(self, manifest: dict[str, Any], keep_data: list[bool] | None = None) -> dict[str, int]:
        """Write the final files (data filtered by `keep_data` when a selection ran), then the manifest."""
        counts = {name: s.finish(self.path / f"{name}.jsonl", keep_data if name == "data" else None)
                  for name, s in self.streams.items()}
        write_json_atomic(self.path / "manifest.json", manifest)
        self.removed_exports = [p.name for p in map(self.path.joinpath, EXPORTS) if p.exists()]
        for name in self.removed_exports:  # made by `distill export` from the records just replaced
            (self.path / name).unlink()
        return counts

    def release(self) -> None:
        self.flush()
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
