"""A trained checkpoint on disk, shared by self_improve (`iterations/<n>/`) and `distill train` (`train-<method>/`):
`model/` (a plain transformers model), `curve.json` (the loss per step) and `model.done`, written last, holding the
checkpoint's identity (a sha256 over its files), what it was trained from (`identity.py`: student, data sha256,
options, seed) and the training report.

A finished checkpoint whose marker matches is reused as it is. Anything else — no marker (a kill mid-training or
mid-save), or a marker for other data or settings — is deleted, marker first, and trained again. The student is
loaded before anything is deleted, so a student that cannot be loaded leaves the folder as it was.

While it trains, the trainer saves a resumable checkpoint (weights, optimizer, scheduler, RNG states) every
`save_steps` steps into `model.trainer/`, beside `identity.json` (what it is training). A training killed
(SIGKILL, Ctrl+C, a power cut) and started again with the same identity goes on from the last complete one
(`trainer_state.json` is written last) without training its steps again; `model.trainer/` is deleted once the
marker is written. A training that fails (an exception) deletes everything it wrote, and its folder too when
that leaves it empty, so no folder is left that looks like a result."""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from distill.errors import DistillError, InputError
from distill.train.identity import training_identity
from distill.train.marker import finished, marker_of
from distill.train.options import TrainOptions


def curve_path(model_dir: Path) -> Path:
    return model_dir.parent / "curve.json"


def scratch_of(model_dir: Path) -> Path:
    return model_dir.parent / (model_dir.name + ".trainer")


def files_digest(model_dir: Path) -> str:
    """sha256 over the checkpoint's file names and contents: the identity its answers are cached under."""
    h = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(model_dir)).encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def forget(model_dir: Path) -> None:
    """Delete a checkpoint, its marker first: at no moment does a partial checkpoint have a marker."""
    marker_of(model_dir).unlink(missing_ok=True)
    curve_path(model_dir).unlink(missing_ok=True)
    shutil.rmtree(model_dir, ignore_errors=True)
    shutil.rmtree(scratch_of(model_dir), ignore_errors=True)


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def check_trainable(options: TrainOptions) -> None:
    """What training needs installed, checked before anything is loaded or written (InputError, exit 2)."""
    import importlib.util

    needed = ["torch", "transformers", "trl", "datasets"] + (["peft"] if options.lora is not None else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"training needs {', '.join(missing)}: pip install 'distill[train]'")


def train_checkpoint(source: str, examples: list[dict[str, Any]], options: TrainOptions, model_dir: Path,
                     seed: int, about: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint at `model_dir`: the finished one if its marker matches this training, else trained now from
    `source`. `about` is kept in the marker (where the data came from). A failure raises `TrainingFailed`."""
    identity = training_identity(source, examples, options, seed)
    done = finished(model_dir)
    if done is not None and done.get("identity") == identity:
        return {**done, "reused": True}
    check_trainable(options)
    report, curve = _train(source, examples, options, model_dir, seed, identity)
    gc.collect()  # the trainer, its model copies and optimizer state hold cycles: free them before going on
    write_json_atomic(curve_path(model_dir), curve)
    marker = {"sha256": files_digest(model_dir), "identity": identity, "train": report, **(about or {})}
    write_json_atomic(marker_of(model_dir), marker)
    shutil.rmtree(scratch_of(model_dir), ignore_errors=True)
    return {**marker, "reused": False}


def resumable(scratch: Path, identity: dict[str, Any]) -> Path | None:
    """The last complete trainer checkpoint in `scratch` of a training with this identity, or None."""
    try:
        if orjson.loads((scratch / "identity.json").read_bytes()) != identity:
            return None
    except (OSError, ValueError):
        return None
    complete = []
    for path in scratch.glob("checkpoint-*"):
        step = path.name.rpartition("-")[2]
        try:
            orjson.loads((path / "trainer_state.json").read_bytes())  # written last: a complete checkpoint
        except (OSError, ValueError):
            continue
        if step.isdigit():
            complete.append((int(step), path))
    return max(complete)[1] if complete else None


def _forget_partial(model_dir: Path) -> None:
    """Delete a checkpoint but keep its trainer checkpoints (a killed training resumes from them)."""
    marker_of(model_dir).unlink(missing_ok=True)
    curve_path(model_dir).unlink(missing_ok=True)
    shutil.rmtree(model_dir, ignore_errors=True)


def _train(source: str, examples: list[dict[str, Any]], options: TrainOptions, model_dir: Path, seed: int,
           identity: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from distill.train.failure import training_failed
    from distill.train.trainer import fit, load_student

    model, tokenizer = load_student(source)  # InputError: the folder is untouched
    scratch = scratch_of(model_dir)
    resume = resumable(scratch, identity)
    if resume is None:
        forget(model_dir)
        scratch.mkdir(parents=True)
        write_json_atomic(scratch / "identity.json", identity)
    else:
        _forget_partial(model_dir)
    try:
        return fit(model, tokenizer, examples, options, model_dir, seed, resume)
    except BaseException as exc:
        if isinstance(exc, Exception):  # a failure: nothing it wrote stays behind, not even an empty folder
            forget(model_dir)
            _remove_if_empty(model_dir.parent)
        else:  # Ctrl+C or SIGTERM: the trainer checkpoints stay, the same command goes on from them
            _forget_partial(model_dir)
        if isinstance(exc, DistillError) or not isinstance(exc, Exception) or _disk_full(exc):
            raise
        raise training_failed(options.method, source, exc) from exc
    finally:
        del model, tokenizer


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def student_source(spec: Any) -> str:
    """Where the configured transformers student's weights are: its path, its model id, or the packaged SmolLM2
    GGUF (as the transformers provider loads it)."""
    source = spec.path or spec.model
    if source is None:
        from distill.providers.local import packaged_gguf

        source = str(packaged_gguf())
    return str(source)
