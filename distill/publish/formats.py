"""Export formats of a run's records: chat `messages` (default, TRL's conversational format), Alpaca
(instruction/input/output), ShareGPT (conversations with from/value, roles normalised), and preference pairs
(prompt/chosen/rejected) from pairs.jsonl, and the thinking of reasoning records placed where reasoning trainers
read it (`think_inline`, `reasoning_content`, `thinking`: publish/reasoning_formats.py). Written as parquet or
JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.io.jsonl import read_jsonl
from distill.publish.reasoning_formats import REASONING_FORMATS, convert_reasoning, has_thinking

FORMATS = ("messages", "alpaca", "sharegpt", "preference", *REASONING_FORMATS)
_SHAREGPT_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}


def _meta(row: dict[str, Any]) -> str:
    return json.dumps(row.get("meta", {}), ensure_ascii=False, sort_keys=True)


def _sharegpt_turn(message: dict[str, Any]) -> dict[str, str]:
    """One ShareGPT turn; tool calls and results as `function_call` / `observation` turns (LLaMA-Factory's form)."""
    if message.get("tool_calls"):
        calls = [{"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
                 for c in message["tool_calls"]]
        return {"from": "function_call", "value": json.dumps(calls, ensure_ascii=False)}
    if message["role"] == "tool":
        return {"from": "observation", "value": message["content"]}
    return {"from": _SHAREGPT_ROLE[message["role"]], "value": message["content"]}


def _tools(tools: list[dict[str, Any]]) -> str:
    """A row's tool schemas as one JSON text, the form TRL's SFTTrainer decodes (and the Hub's function-calling
    sets use). As a column of structs, parquet would give every tool the union of all tools' properties (the
    missing ones as null), and the chat template would show the student schemas the teacher never saw."""
    return json.dumps(tools, ensure_ascii=False)


def convert(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    if fmt == "messages":  # a tool-use record keeps its `tools` (the column TRL's SFTTrainer passes to the template)
        return {"messages": row["messages"], **({"tools": _tools(row["tools"])} if "tools" in row else {}),
                "meta": _meta(row)}
    if fmt == "alpaca":
        return {"instruction": row["instruction"], "input": row["input"], "output": row["output"]}
    if fmt == "sharegpt":
        return {"conversations": [_sharegpt_turn(m) for m in row["messages"]]}
    if fmt == "preference":
        return {"prompt": row["prompt"], "chosen": row["chosen"][len(row["prompt"]):],
                "rejected": row["rejected"][len(row["prompt"]):], "meta": _meta(row)}
    if fmt in REASONING_FORMATS:
        return convert_reasoning(row, fmt)
    raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def rows(run_dir: Path, fmt: str) -> Iterator[dict[str, Any]]:
    source = run_dir / ("pairs.jsonl" if fmt == "preference" else "data.jsonl")
    if not source.exists():
        what = "preference pairs (run with quality.pairwise)" if fmt == "preference" else "data.jsonl"
        raise InputError(f"{run_dir}: no {what}; is it a finished run folder?")
    for _, row in read_jsonl(source):
        yield convert(row, fmt)


def require_records(run_dir: Path, fmt: str) -> None:
    """Refuse, before anything is written or sent, to publish a run with nothing in it."""
    for _ in rows(run_dir, fmt):
        return
    what = "preference pairs in pairs.jsonl" if fmt == "preference" else "accepted records in data.jsonl"
    raise InputError(f"{run_dir}: no {what}, so nothing to export or push; `distill show {run_dir}` lists "
                     "why candidates were rejected")


def require_thinking(run_dir: Path, fmt: str) -> None:
    """Refuse a reasoning format for records that hold no thinking at all."""
    if fmt not in REASONING_FORMATS or any(has_thinking(row) for _, row in read_jsonl(run_dir / "data.jsonl")):
        return
    raise InputError(f"{run_dir}: no record holds thinking, so --format {fmt} has none to place; run the reasoning "
                     "recipe, or another recipe with `keep_reasoning: true` and a teacher that reasons")


def write(run_dir: Path, fmt: str, target: Path) -> int:
    """Write the run's records in `fmt` to `target` (.parquet or .jsonl); return the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    require_records(run_dir, fmt)
    require_thinking(run_dir, fmt)
    data = list(rows(run_dir, fmt))
    if target.suffix not in (".jsonl", ".parquet"):
        raise InputError(f"{target}: choose a .parquet or .jsonl file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        if target.suffix == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in data)
        else:
            pq.write_table(pa.Table.from_pylist(data), tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves no half file behind
    return len(data)
