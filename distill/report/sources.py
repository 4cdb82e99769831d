"""Reading what a report looks at: a run folder (accepted and rejected records, manifest), and a reference or
benchmark set given as a JSONL file, another run folder, or a `datasets` dataset (a saved folder or a Hub name).

Each record is reduced to two texts: its instruction (the prompt; `input` appended on a new line when the record
has one) and its response. Field names tried, in order: instruction / prompt / question / problem / query /
text, else the first user message of `messages` / `conversations`; output / response / answer / solution /
completion, else the last assistant message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from distill.errors import InputError
from distill.report.lengths import count_tokens
from distill.report.scores import ScoreStats
from distill.report.tally import Reservoir, Tally
from distill.report.traces import TraceStats

PROMPT_FIELDS = ("instruction", "prompt", "question", "problem", "query", "text")
RESPONSE_FIELDS = ("output", "response", "answer", "solution", "completion")


@dataclass
class TextSet:
    name: str
    instructions: list[str]
    responses: list[str]
    total: int = -1  # rows with a prompt in the whole source; more than len() when these are a sample
    index: list[int] = field(default_factory=list)  # each text's position among those rows

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.instructions)
        if not self.index:
            self.index = list(range(len(self.instructions)))

    def __len__(self) -> int:
        return len(self.instructions)


@dataclass
class Run:
    """A run folder read in one streaming pass: exact counts and length tallies over every accepted row, score
    figures over every accepted and rejected row, and the texts of a seeded uniform sample of accepted rows."""

    path: Path
    manifest: dict[str, Any]
    sample: TextSet  # .total is the number of accepted rows
    lengths: dict[str, Tally]
    scores: ScoreStats
    rejected_rows: int
    traces: TraceStats = field(default_factory=TraceStats)


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


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, one at a time (blank lines and non-objects skipped)."""
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if isinstance(row, dict):
                yield row


def text_set(name: str, rows: Iterable[dict[str, Any]], k: int | None = None, seed: int = 0) -> TextSet:
    """The rows' texts; with `k`, a seeded uniform sample of at most k of the rows that have a prompt."""
    keep: Reservoir[tuple[str, str]] = Reservoir(k if k is not None else 2**62, seed)
    for row in rows:
        p = prompt_of(row)
        if p.strip():
            keep.add((p, response_of(row)))
    return _texts(name, keep)


def _texts(name: str, keep: Reservoir[tuple[str, str]]) -> TextSet:
    kept = sorted(keep.items, key=lambda p: p[0])
    return TextSet(name, [p for _, (p, _) in kept], [r for _, (_, r) in kept], keep.seen, [i for i, _ in kept])


def load_run(path: Path, k: int, seed: int = 0, visit: Callable[[int, str], None] | None = None) -> Run:
    """One pass over data.jsonl and rejected.jsonl; `visit(i, instruction)` sees every accepted row's
    instruction (the contamination check runs over all rows this way). Memory: the sample, the tallies and what
    `visit` keeps, whatever the number of rows."""
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        hint = " (it was interrupted: run the same command again to finish it)" if list(path.glob("*.partial")) else ""
        raise InputError(f"{path}: no manifest.json, so not a finished run folder{hint}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    keep: Reservoir[tuple[str, str]] = Reservoir(k, seed)
    lengths = {"instructions": Tally(), "responses": Tally()}
    add_i, add_r = lengths["instructions"].add, lengths["responses"].add
    stats = ScoreStats(k, seed)
    traces = TraceStats()
    data, rejected = path / "data.jsonl", path / "rejected.jsonl"
    for row in iter_rows(data) if data.exists() else ():
        p = prompt_of(row)
        if not p.strip():
            continue
        r = response_of(row)
        if visit is not None:
            visit(keep.seen, p)
        keep.add((p, r))
        add_i(count_tokens(p))
        add_r(count_tokens(r))
        stats.kept(row)
        traces.add(row, p, r)
    n_rejected = 0
    for rej in iter_rows(rejected) if rejected.exists() else ():
        n_rejected += 1
        item = rej.get("item")
        if isinstance(item, dict):
            stats.dropped(item)
    return Run(path, manifest, _texts(path.name, keep), lengths, stats, n_rejected, traces)


def load_set(spec: str, split: str = "train", k: int | None = None, seed: int = 0) -> TextSet:
    """A reference or benchmark set: a JSONL file, a run folder (its data.jsonl) or a `datasets` dataset; with
    `k`, a seeded uniform sample of at most k of its rows (`.total` counts them all)."""
    path = Path(spec).expanduser()
    rows: Iterable[dict[str, Any]]
    if path.is_dir() and (path / "data.jsonl").is_file():
        rows = iter_rows(path / "data.jsonl")
    elif path.is_file() and path.suffix not in (".parquet", ".csv"):
        rows = iter_rows(path)
    else:
        rows = _dataset_rows(spec, path, split)
    out = text_set(path.name or spec, rows, k, seed)
    if not out.total:
        raise InputError(f"{spec}: no rows with a prompt field ({', '.join(PROMPT_FIELDS)} or messages)")
    return out


def seeds_file(run_dir: Path, manifest: dict[str, Any], given: str | None) -> Path | None:
    """The seed instructions the ROUGE-L-to-seeds figure uses: `given`, else the recipe's `options.seeds` found
    next to the run, in the package's recipes/ or in the repository's."""
    candidates = [given] if given else []
    named = ((manifest.get("config") or {}).get("options") or {}).get("seeds")
    if isinstance(named, str) and not given:
        from distill.prompts import prompts_dir

        candidates += [named, str(run_dir / named), str(prompts_dir().parent / "recipes" / named),
                       str(Path(__file__).resolve().parents[2] / "recipes" / named)]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _dataset_rows(spec: str, path: Path, split: str) -> Iterator[dict[str, Any]]:
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
    return (dict(r) for r in ds)
