"""Reading what a report looks at: a run folder (accepted and rejected records, manifest), and a reference or
benchmark set given as a JSONL file, another run folder, or a `datasets` dataset (a saved folder or a Hub name).

Each record is reduced to two texts: its instruction (the prompt; `input` appended on a new line when the record
has one) and its response. Field names tried, in order: instruction / prompt / question / problem / query /
text, else the first user message of `messages` / `conversations`; output / response / answer / solution /
completion, else the last assistant message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from distill.errors import InputError

PROMPT_FIELDS = ("instruction", "prompt", "question", "problem", "query", "text")
RESPONSE_FIELDS = ("output", "response", "answer", "solution", "completion")


@dataclass
class TextSet:
    name: str
    instructions: list[str]
    responses: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # the records themselves (runs only)

    def __len__(self) -> int:
        return len(self.instructions)


@dataclass
class Run:
    path: Path
    manifest: dict[str, Any]
    accepted: TextSet
    rejected: list[dict[str, Any]]  # rejected.jsonl rows: {stage, reason, item, raw}


def _messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("messages", "conversations"):
        value = row.get(key)
        if isinstance(value, list):
            return [m for m in value if isinstance(m, dict)]
    return []


def _content(m: dict[str, Any]) -> str:
    value = m.get("content", m.get("value", ""))
    return value if isinstance(value, str) else ""


def prompt_of(row: dict[str, Any]) -> str:
    for key in PROMPT_FIELDS:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            extra = row.get("input")
            return f"{value}\n{extra}" if isinstance(extra, str) and extra.strip() else value
    for m in _messages(row):
        if m.get("role", m.get("from")) in ("user", "human"):
            return _content(m)
    return ""


def response_of(row: dict[str, Any]) -> str:
    for key in RESPONSE_FIELDS:
        value = row.get(key)
        if isinstance(value, str):
            return value
    for m in reversed(_messages(row)):
        if m.get("role", m.get("from")) in ("assistant", "gpt"):
            return _content(m)
    return ""


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if isinstance(row, dict):
                rows.append(row)
    return rows


def text_set(name: str, rows: list[dict[str, Any]], keep_rows: bool = False) -> TextSet:
    prompts, responses, kept = [], [], []
    for row in rows:
        p = prompt_of(row)
        if not p.strip():
            continue
        prompts.append(p)
        responses.append(response_of(row))
        kept.append(row)
    return TextSet(name, prompts, responses, kept if keep_rows else [])


def load_run(path: Path) -> Run:
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        hint = " (it was interrupted: run the same command again to finish it)" if list(path.glob("*.partial")) else ""
        raise InputError(f"{path}: no manifest.json, so not a finished run folder{hint}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    data = read_rows(path / "data.jsonl") if (path / "data.jsonl").exists() else []
    rejected = read_rows(path / "rejected.jsonl") if (path / "rejected.jsonl").exists() else []
    return Run(path, manifest, text_set(path.name, data, keep_rows=True), rejected)


def load_set(spec: str, split: str = "train") -> TextSet:
    """A reference or benchmark set: a JSONL file, a run folder (its data.jsonl) or a `datasets` dataset."""
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "data.jsonl").is_file():
        rows = read_rows(path / "data.jsonl")
    elif path.is_file() and path.suffix not in (".parquet", ".csv"):
        rows = read_rows(path)
    else:
        rows = _dataset_rows(spec, path, split)
    out = text_set(path.name or spec, rows)
    if not len(out):
        raise InputError(f"{spec}: no rows with a prompt field ({', '.join(PROMPT_FIELDS)} or messages)")
    return out


def _dataset_rows(spec: str, path: Path, split: str) -> list[dict[str, Any]]:
    import datasets

    try:
        if path.is_dir() and (path / "dataset_info.json").exists():
            ds = datasets.load_from_disk(str(path))
        elif path.suffix in (".parquet", ".csv"):
            ds = datasets.load_dataset(path.suffix[1:], data_files=str(path), split=split)
        else:
            ds = datasets.load_dataset(spec, split=split)
    except FileNotFoundError as exc:
        raise InputError(f"{spec}: not found ({exc})") from None
    except Exception as exc:  # noqa: BLE001  # datasets raises many types for a dataset that cannot be loaded
        raise InputError(f"{spec}: cannot load it as a JSONL file, run folder or dataset: {exc}") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise InputError(f"{spec}: no split {split!r} (has {', '.join(ds)})")
        ds = ds[split]
    return [dict(r) for r in ds]
