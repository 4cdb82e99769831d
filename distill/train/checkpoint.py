"""A checkpoint per iteration in the run folder: `iterations/<n>/model/` (a plain transformers model) and
`iterations/<n>/model.done`, written last, holding the checkpoint's identity (a sha256 over its files) and the
training report. A folder without its marker (a kill mid-training, mid-save) is deleted and trained again."""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from distill.train.options import TrainOptions


def marker_of(model_dir: Path) -> Path:
    return model_dir.parent / (model_dir.name + ".done")


def files_digest(model_dir: Path) -> str:
    """sha256 over the checkpoint's file names and contents: the identity its answers are cached under."""
    h = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(model_dir)).encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def finished(model_dir: Path) -> dict[str, Any] | None:
    """The marker of a complete checkpoint, or None."""
    try:
        data = orjson.loads(marker_of(model_dir).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and model_dir.is_dir() else None


def train_checkpoint(source: str, examples: list[dict[str, Any]], options: TrainOptions, model_dir: Path,
                     seed: int) -> dict[str, Any]:
    """The checkpoint at `model_dir`: the finished one if its marker is there, else trained now from `source`."""
    done = finished(model_dir)
    if done is not None:
        return {**done, "reused": True}
    shutil.rmtree(model_dir, ignore_errors=True)
    shutil.rmtree(model_dir.parent / (model_dir.name + ".trainer"), ignore_errors=True)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    from distill.train.trainer import fit

    report = fit(source, examples, options, model_dir, seed)
    gc.collect()  # the trainer, its model copy and optimizer state hold cycles: free them before sampling goes on
    marker = {"sha256": files_digest(model_dir), "train": report}
    tmp = marker_of(model_dir).with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(marker, option=orjson.OPT_INDENT_2))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, marker_of(model_dir))
    return {**marker, "reused": False}


def student_source(spec: Any) -> str:
    """Where the configured transformers student's weights are: its path, its model id, or the packaged SmolLM2
    GGUF (as the transformers provider loads it)."""
    source = spec.path or spec.model
    if source is None:
        from distill.providers.local import packaged_gguf

        source = str(packaged_gguf())
    return str(source)
