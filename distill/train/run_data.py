"""A run folder's records as training examples in TRL's conversational form.

SFT reads `data.jsonl`: each record's `messages`, the last one the assistant's reply, become a prompt (every
message before it) and a completion (that reply; the loss is on it alone). DPO reads `pairs.jsonl`: `prompt`,
and `chosen` / `rejected` with the prompt they repeat taken off. A row of any other shape stops with its file
and line (InputError, exit 2), before anything is loaded or written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from distill.errors import InputError
from distill.io.jsonl import read_jsonl
from distill.train.identity import file_digest

SOURCE = {"sft": "data.jsonl", "dpo": "pairs.jsonl"}
ROLES = ("system", "user", "assistant")


@dataclass
class RunData:
    file: Path
    file_sha256: str
    examples: list[dict[str, Any]]

    def about(self) -> dict[str, Any]:
        return {"data": {"file": str(self.file), "file_sha256": self.file_sha256, "rows": len(self.examples)}}


def _chat(value: Any, where: str, key: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: `{key}` must be a non-empty list of chat messages")
    for m in value:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise InputError(f"{where}: `{key}` holds {str(m)[:80]!r}; each message needs a role ({', '.join(ROLES)}) "
                             "and a text content")
    return [{"role": m["role"], "content": m["content"]} for m in value]


def _reply(chat: list[dict[str, str]], where: str, key: str) -> None:
    if chat[-1]["role"] != "assistant":
        raise InputError(f"{where}: the last message of `{key}` is the {chat[-1]['role']}'s, not the assistant's "
                         "reply to train on")


def sft_example(row: dict[str, Any], where: str) -> dict[str, Any]:
    messages = _chat(row.get("messages"), where, "messages")
    _reply(messages, where, "messages")
    if len(messages) < 2:
        raise InputError(f"{where}: `messages` holds only the reply; a prompt must come before it")
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def dpo_example(row: dict[str, Any], where: str) -> dict[str, Any]:
    prompt = _chat(row.get("prompt"), where, "prompt")
    out: dict[str, Any] = {"prompt": prompt}
    for key in ("chosen", "rejected"):
        chat = _chat(row.get(key), where, key)
        if chat[:len(prompt)] == prompt:
            chat = chat[len(prompt):]  # distill's pairs repeat the prompt: TRL wants the reply alone
        if not chat:
            raise InputError(f"{where}: `{key}` holds no reply after the prompt")
        _reply(chat, where, key)
        out[key] = chat
    return out


def read_run(run_dir: Path, method: Literal["sft", "dpo"]) -> RunData:
    """The examples of `run_dir` for `method`, with the sha256 of the file they came from."""
    if not run_dir.exists():
        raise InputError(f"{run_dir}: no such run folder")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a folder; give a run folder (outputs/<name>/)")
    path = run_dir / SOURCE[method]
    if not path.is_file():
        hint = ("runs with quality.pairwise, self_improve and other preference recipes write it" if method == "dpo"
                else "a finished run writes it; `distill run` the recipe to the end first")
        raise InputError(f"{run_dir}: no {SOURCE[method]} to train {method} on ({hint})")
    build = sft_example if method == "sft" else dpo_example
    examples = [build(row, f"{path}:{lineno}") for lineno, row in read_jsonl(path)]
    if not examples:
        raise InputError(f"{path}: empty, so nothing to train on; `distill show {run_dir}` lists why candidates "
                         "were rejected")
    return RunData(path, file_digest(path), examples)
