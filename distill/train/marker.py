"""A checkpoint's marker, `model.done` beside its folder: written last, so a checkpoint with one is complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def marker_of(model_dir: Path) -> Path:
    return model_dir.parent / f"{model_dir.name}.done"


def finished(model_dir: Path) -> dict[str, Any] | None:
    """The marker of a complete checkpoint, or None."""
    try:
        data = orjson.loads(marker_of(model_dir).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and model_dir.is_dir() else None
