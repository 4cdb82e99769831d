"""What `distill eval MODEL` names, as a provider spec: a provider's short form (`openai:MODEL@URL`, `local` for
the embedded SmolLM2, `transformers:PATH`), a transformers model folder, a `distill train` output (its `model/`),
or a `.gguf` file. A local model's answers are cached under what its files are — a distill checkpoint by its
sha256, another folder by its files' names, sizes and times — so a model retrained in place is asked again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from distill.errors import InputError
from distill.providers.spec import ProviderSpec
from distill.train.identity import student_identity
from distill.train.marker import finished


def local_identity(path: Path) -> str:
    """A short name for what a local model is (goes into its cache key)."""
    return hashlib.sha256(orjson.dumps(student_identity(str(path)), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def checkpoint_folder(path: Path) -> Path:
    """A `distill train` output folder (train-sft/ with model/ and model.done) stands for its model."""
    inner = path / "model"
    return inner if inner.is_dir() and finished(inner) is not None else path


def transformers_spec(path: Path, batch_size: int = 8) -> ProviderSpec:
    from distill.providers.registry import provider_spec

    return provider_spec({"provider": "transformers", "path": str(path), "batch_size": batch_size,
                          "model": f"{path.name}@{local_identity(path)}"})


def model_spec(text: str) -> ProviderSpec:
    """The spec `text` names, or an InputError (exit 2) saying what it is not."""
    from pydantic import ValidationError

    from distill.providers.registry import provider_spec

    path = Path(text)
    if path.is_dir():
        path = checkpoint_folder(path)
        if not (path / "config.json").is_file():
            raise InputError(f"{text}: not a transformers model folder (no config.json) nor a `distill train` "
                             "output (no finished model/)")
        return transformers_spec(path)
    if path.is_file():
        if path.suffix != ".gguf":
            raise InputError(f"{text}: a file must be a .gguf model")
        return provider_spec({"provider": "local", "path": str(path)})
    if ":" not in text and text not in ("local",):
        raise InputError(f"{text}: no such model folder or file; a provider's model is written "
                         "PROVIDER:MODEL (openai:gpt-4o-mini, openai:MODEL@http://host:port/v1, local)")
    try:
        return provider_spec(text)
    except (ValidationError, ValueError) as exc:
        raise InputError(f"{text}: {exc}") from None


def trained_run(text: str) -> Path | None:
    """The run folder a `distill train` checkpoint was trained on (its marker names the data file), or None."""
    path = Path(text)
    if not path.is_dir():
        return None
    done = finished(checkpoint_folder(path))
    data = (done or {}).get("data") or {}
    if not isinstance(data, dict) or not isinstance(data.get("file"), str):
        return None
    run = Path(data["file"]).parent
    return run if (run / "manifest.json").is_file() else None
