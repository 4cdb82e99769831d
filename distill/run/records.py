"""The shape of an output record: chat `messages` (TRL-ready) plus Alpaca-style columns and a `meta`."""

from __future__ import annotations

from typing import Any


def make_record(*, instruction: str, output: str, input: str = "", system: str | None = None,
                meta: dict[str, Any]) -> dict[str, Any]:
    user = instruction if not input else f"{instruction}\n\n{input}"
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": output}]
    return {"messages": messages, "instruction": instruction, "input": input, "output": output, "meta": meta}


def make_rejection(*, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
                   detail: Any = None) -> dict[str, Any]:
    row: dict[str, Any] = {"stage": stage, "reason": reason, "item": item}
    if raw is not None:
        row["raw"] = raw
    if detail is not None:
        row["detail"] = detail
    return row
