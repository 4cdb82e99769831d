"""`keep_reasoning: true` is one mechanism for every recipe: the thinking behind a record's answer lands in the
record's `reasoning` field (where the reasoning recipe keeps its traces, not in meta), `distill export --format`
puts it where reasoning trainers read it, and the report's traces section counts it. Two recipes, respond and
math_qa, against the scripted reasoning server (real openai client)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from helpers import distill, read_jsonl, write
from reasoning_server import ReasoningServer

THINK = "Tens first: 10 + 20 = 30, units 7 + 5 = 12, and 30 + 12 = 42."
RULES = [{"match": r"17 \+ 25", "samples": [
    {"reasoning_content": THINK, "content": "Adding the tens and the units gives 42, so the answer is \\boxed{42}."},
    {"content": f"<think>\n{THINK} Checked.\n</think>\n\nThe tens and units add up to \\boxed{{42}}."}]}]
RECIPES = {
    "respond": ("input: {path: %s, field: question, input_field: null}\n", ""),
    "math_qa": ("input: {path: %s, field: question, input_field: null}\n",
                "options: {samples: 2, min_solution_chars: 10}\n"),
}


@pytest.fixture(scope="module")
def server():
    with ReasoningServer(rules=RULES) as s:
        yield s


def _run(tmp_path, url, recipe, keep):
    inp = write(tmp_path / "q.jsonl", json.dumps({"question": "What is 17 + 25?", "answer": "42"}) + "\n")
    source, options = RECIPES[recipe]
    cfg = write(tmp_path / f"{recipe}.yaml", f"""recipe: {recipe}
teacher: {{provider: openai, model: r1-like, base_url: {url}}}
{source % inp}out: {tmp_path / recipe}
keep_reasoning: {str(keep).lower()}
{options}""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    return tmp_path / recipe


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_kept_reasoning_is_in_one_place_and_exported(tmp_path, server, recipe):
    run = _run(tmp_path, server.url, recipe, keep=True)
    data = read_jsonl(run / "data.jsonl")
    assert data and all("reasoning" not in r["meta"] for r in data)
    assert data[0]["reasoning"] == THINK and "<think>" not in data[0]["output"]
    if recipe == "math_qa":  # both samples agree: both kept, the inline block's thinking too
        assert sorted(r["reasoning"] for r in data) == [THINK, f"{THINK} Checked."]
    res = distill("export", str(run), "--format", "reasoning_content", "--to", str(tmp_path / "r.parquet"))
    assert res.returncode == 0, res.stderr
    rows = pq.read_table(tmp_path / "r.parquet").to_pylist()
    assert rows[0]["messages"][-1]["reasoning_content"] == THINK
    assert rows[0]["messages"][-1]["content"] == data[0]["output"]
    traces = json.loads((run / "report.json").read_text())["traces"]
    assert traces["records_with_thinking"] == len(data) and "checks" not in traces  # no reasoning recipe checks


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_without_keep_reasoning_no_thinking_is_kept(tmp_path, server, recipe):
    run = _run(tmp_path, server.url, recipe, keep=False)
    data = read_jsonl(run / "data.jsonl")
    assert data and all("reasoning" not in r and "reasoning" not in r["meta"] for r in data)
    res = distill("export", str(run), "--format", "thinking", "--to", str(tmp_path / "t.parquet"))
    assert res.returncode != 0 and "no record holds thinking" in res.stderr
