"""Export formats for records with thinking: a chat whose assistant turn carries the thinking where reasoning
trainers read it.

* `think_inline` — in the assistant's content: `<think>\\n...\\n</think>\\n\\n` then the answer, the form the
  Qwen3 and DeepSeek-R1 chat templates produce (a record without thinking gets an empty block, as Qwen3 writes
  for an answer without thinking);
* `reasoning_content` — a field of the assistant message beside `content` (vLLM's and DeepSeek's name, which
  the Qwen3 chat template reads);
* `thinking` — the same, under `thinking`.

The thinking is the record's `reasoning` field (the reasoning recipe's traces; any recipe's with
`keep_reasoning: true`, run/records.py's make_record) or else `meta.reasoning` (where runs made before kept it);
it goes to the first assistant turn, the one the record's output came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REASONING_FORMATS = ("think_inline", "reasoning_content", "thinking")
WHERE = {  # what the dataset card says of each format
    "think_inline": "inline: each assistant message's `content` is `<think>\\n` + the thinking + `\\n</think>\\n\\n` + "
                    "the answer, as the Qwen3 and DeepSeek-R1 chat templates write it",
    "reasoning_content": "in the assistant message's `reasoning_content` field, the answer in `content` (vLLM's "
                         "and DeepSeek's name, which the Qwen3 chat template reads)",
    "thinking": "in the assistant message's `thinking` field, the answer in `content`",
}


def thinking_of(row: dict[str, Any]) -> str:
    value = row.get("reasoning")
    if not isinstance(value, str):
        meta = row.get("meta")
        value = meta.get("reasoning") if isinstance(meta, dict) else None
    return value.strip() if isinstance(value, str) else ""


def inline(thinking: str, answer: str) -> str:
    return f"<think>\n{thinking}\n</think>\n\n{answer}" if thinking else f"<think>\n\n</think>\n\n{answer}"


def convert_reasoning(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    thinking = thinking_of(row)
    messages: list[dict[str, Any]] = []
    placed = False
    for message in row["messages"]:
        message = dict(message)
        if message["role"] == "assistant" and not placed:
            placed = True
            if fmt == "think_inline":
                message["content"] = inline(thinking, message["content"])
            else:
                message[fmt] = thinking
        elif message["role"] == "assistant" and fmt != "think_inline":
            message[fmt] = ""  # later turns: the same columns in every assistant message
        messages.append(message)
    return {"messages": messages, "meta": json.dumps(row.get("meta", {}), ensure_ascii=False, sort_keys=True)}


def has_thinking(row: dict[str, Any]) -> bool:
    return bool(thinking_of(row))


def token_stats(data: Path) -> dict[str, Any]:
    """Thinking and answer lengths of the records of `data` (data.jsonl) that hold thinking, in the report's
    tokens (words and punctuation marks, report/lengths.py): count, mean, median, 5th/95th percentile, min, max."""
    from distill.io.jsonl import read_jsonl
    from distill.report.lengths import count_tokens, summary
    from distill.report.tally import Tally

    thinking, answers, without = Tally(), Tally(), 0
    for _, row in read_jsonl(data):
        text = thinking_of(row)
        if not text:
            without += 1
            continue
        thinking.add(count_tokens(text))
        output = row.get("output")
        answers.add(count_tokens(output if isinstance(output, str) else ""))
    return {"with_thinking": len(thinking), "without_thinking": without, "thinking_tokens": summary(thinking),
            "answer_tokens": summary(answers)}
