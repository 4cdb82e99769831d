"""What a checkpoint was trained from, as its marker records it: the student (a checkpoint's own sha256, or a
path with its files' sizes and times, or a model id), the exact data (a sha256 over the examples, one JSON line
each: the same bytes as self_improve's `sft.jsonl` / `pairs.jsonl`), the options and the seed. A finished
checkpoint is reused only when all of it matches."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from distill.train.options import TrainOptions

NOT_RESULTS = {"threads", "save_steps"}  # how fast it trains and how often it saves, not what it learns


def examples_digest(examples: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for example in examples:
        h.update(orjson.dumps(example) + b"\n")
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def student_identity(source: str) -> dict[str, Any]:
    """A distill checkpoint by its sha256 (wherever its folder is); another local model by its resolved path and
    each file's size and modification time (a model replaced in place is a new student); else the model id."""
    from distill.train.marker import finished

    path = Path(source)
    if not path.exists():
        return {"model": source}
    done = finished(path) if path.is_dir() else None
    if done is not None:
        return {"checkpoint_sha256": done.get("sha256")}
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {"path": str(path.resolve()),
            "files": [[str(p.relative_to(path)) if path.is_dir() else p.name, p.stat().st_size,
                       p.stat().st_mtime_ns] for p in files]}


def training_identity(source: str, examples: list[dict[str, Any]], options: TrainOptions, seed: int
                      ) -> dict[str, Any]:
    return {"student": student_identity(source), "data_sha256": examples_digest(examples),
            "examples": len(examples), "options": options.model_dump(mode="json", exclude=NOT_RESULTS),
            "seed": seed}
