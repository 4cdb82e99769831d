"""Exporting thinking where reasoning trainers read it: `think_inline` (<think>...</think> then the answer, the
Qwen3 / DeepSeek-R1 form), `reasoning_content` and `thinking` (a field of the assistant message), from the
reasoning recipe's `reasoning` column or another recipe's `meta.reasoning` (keep_reasoning: true)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from helpers import distill, read_jsonl, write
from reasoning_server import ReasoningServer, run_reasoning

from distill.errors import InputError
from distill.publish import formats

QUESTION = "Which is larger, 2^30 or 10^9?"
THINKING = "2^10 = 1024 > 1000, so 2^30 = 1024^3 > 1000^3 = 10^9."
ANSWER = "**2^30** is larger (1,073,741,824 against 1,000,000,000)."


def _row(**extra):
    row = {"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": ANSWER}],
           "instruction": QUESTION, "input": "", "output": ANSWER, "meta": {"recipe": "reasoning", "sample": 0}}
    row.update(extra)
    return row


def _run_dir(tmp_path, *rows):
    run = tmp_path / "run"
    write(run / "data.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return run


def test_think_inline_puts_the_thinking_before_the_answer():
    out = formats.convert(_row(reasoning=THINKING), "think_inline")
    assert out["messages"][0] == {"role": "user", "content": QUESTION}
    assert out["messages"][1] == {"role": "assistant", "content": f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"}
    assert json.loads(out["meta"])["sample"] == 0


@pytest.mark.parametrize("fmt", ["reasoning_content", "thinking"])
def test_a_field_beside_the_content(fmt):
    out = formats.convert(_row(reasoning=THINKING), fmt)
    assert out["messages"][1] == {"role": "assistant", "content": ANSWER, fmt: THINKING}
    assert fmt not in out["messages"][0]


def test_kept_reasoning_of_any_recipe_is_exported():
    row = _row(meta={"recipe": "respond", "reasoning": THINKING})
    assert formats.convert(row, "reasoning_content")["messages"][1]["reasoning_content"] == THINKING
    # a record without thinking gets Qwen3's empty block
    assert formats.convert(_row(), "think_inline")["messages"][1]["content"] == f"<think>\n\n</think>\n\n{ANSWER}"


def test_written_as_parquet_a_trainer_loads(tmp_path):
    run = _run_dir(tmp_path, _row(reasoning=THINKING), _row(reasoning="Compare powers of ten."))
    target = tmp_path / "out" / "r.parquet"
    assert formats.write(run, "reasoning_content", target) == 2
    rows = pq.read_table(target).to_pylist()
    assert rows[0]["messages"][1]["reasoning_content"] == THINKING
    assert rows[1]["messages"][1]["reasoning_content"] == "Compare powers of ten."
    assert rows[0]["messages"][0]["reasoning_content"] is None  # user turns carry no thinking
    assert formats.write(run, "think_inline", tmp_path / "out" / "r.jsonl") == 2
    inline = read_jsonl(tmp_path / "out" / "r.jsonl")
    assert inline[0]["messages"][1]["content"].startswith(f"<think>\n{THINKING}\n</think>")


def test_records_without_any_thinking_are_refused(tmp_path):
    run = _run_dir(tmp_path, _row(), _row())
    with pytest.raises(InputError, match="no record holds thinking"):
        formats.write(run, "thinking", tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()
    assert formats.write(run, "messages", tmp_path / "m.jsonl") == 2  # the other formats do not need it


def test_run_then_export_with_the_cli(tmp_path):
    """A real run against a scripted reasoning server, then `distill export --format` in each form."""
    samples = [{"reasoning_content": THINKING, "content": ANSWER},
               {"content": f"<think>{THINKING} Double-checked.</think>\n\n{ANSWER}"}]
    with ReasoningServer(rules=[{"match": "Which is larger", "samples": samples}]) as server:
        res = run_reasoning(tmp_path, server.url, [{"question": QUESTION, "domain": "math"}], samples=2)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    res = distill("export", str(run), "--format", "think_inline", "--to", str(tmp_path / "inline.jsonl"))
    assert res.returncode == 0, res.stderr
    inline = read_jsonl(tmp_path / "inline.jsonl")
    assert [r["messages"][1]["content"] for r in inline] == [
        f"<think>\n{THINKING}\n</think>\n\n{ANSWER}", f"<think>\n{THINKING} Double-checked.\n</think>\n\n{ANSWER}"]
    res = distill("export", str(run), "--format", "thinking")
    assert res.returncode == 0, res.stderr
    rows = pq.read_table(run / "thinking.parquet").to_pylist()
    assert rows[0]["messages"][1]["thinking"] == THINKING and rows[0]["messages"][1]["content"] == ANSWER
