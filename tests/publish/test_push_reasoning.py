"""`distill push --format think_inline | reasoning_content | thinking`: the real huggingface_hub client pushes a
reasoning run to the fake Hub on 127.0.0.1; the data carries the thinking where the format says, and the card
names the format and gives the thinking and answer token statistics (checked by hand)."""

from __future__ import annotations

import io
import json
import re
import statistics

import pyarrow.parquet as pq
import pytest
from fake_hub import FakeHub
from helpers import distill, read_jsonl, write
from reasoning_server import ReasoningServer, run_reasoning

TOKEN = "hf_test_token_write"
WORD = re.compile(r"\w+|[^\w\s]")
THINK = ["Half of 84 is 42, and 42 is the number.", "Start from 80: 80 / 2 = 40, and 4 / 2 = 2, so 42 in all."]
SAMPLES = [{"reasoning_content": THINK[0], "content": "The answer is 42."},
           {"content": f"<think>{THINK[1]}</think>\n\nHalf of 84 is **42**."}]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("push_reasoning")
    with ReasoningServer(rules=[{"match": "half of 84", "samples": SAMPLES}]) as server:
        res = run_reasoning(tmp, server.url, [{"question": "What is half of 84?"}], samples=2, model="r1-like")
    assert res.returncode == 0, res.stderr
    return tmp / "run"


@pytest.fixture
def hub():
    with FakeHub(tokens=(TOKEN,)) as h:
        yield h


def _env(hub, tmp_path):
    return {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "0"}


@pytest.mark.parametrize("fmt, where", [("think_inline", "inline: each assistant message's `content` is"),
                                        ("reasoning_content", "in the assistant message's `reasoning_content`"),
                                        ("thinking", "in the assistant message's `thinking` field")])
def test_push_names_the_format_and_its_token_statistics(tmp_path, hub, run, fmt, where):
    res = distill("push", str(run), "tester/r", "--format", fmt, env=_env(hub, tmp_path))
    assert res.returncode == 0, res.stderr
    files = hub.repos["tester/r"].files
    rows = pq.read_table(io.BytesIO(files["data/default/train-00000-of-00001.parquet"])).to_pylist()
    assistant = [r["messages"][1] for r in rows]
    if fmt == "think_inline":
        assert [a["content"] for a in assistant] == [f"<think>\n{THINK[0]}\n</think>\n\nThe answer is 42.",
                                                     f"<think>\n{THINK[1]}\n</think>\n\nHalf of 84 is **42**."]
    else:
        assert [a[fmt] for a in assistant] == THINK
    card = files["README.md"].decode()
    assert f"Exported with `distill push --format {fmt}`. The teacher's thinking is {where}" in card
    assert "2 records hold thinking, 0 do not." in card
    data = read_jsonl(run / "data.jsonl")
    thinking = [len(WORD.findall(r["reasoning"])) for r in data]
    answers = [len(WORD.findall(r["output"])) for r in data]
    assert (f"| thinking | 2 | {statistics.mean(thinking):g} | {statistics.median(thinking):g} |" in card
            and f"| {min(thinking)} | {max(thinking)} |" in card)
    assert f"| answer | 2 | {statistics.mean(answers):g} | {statistics.median(answers):g} |" in card


def test_messages_push_says_its_format_without_thinking_figures(tmp_path, hub, run):
    res = distill("push", str(run), "tester/m", env=_env(hub, tmp_path))
    assert res.returncode == 0, res.stderr
    card = hub.repos["tester/m"].files["README.md"].decode()
    assert "Exported with `distill push --format messages`." in card and "hold thinking" not in card


def test_a_reasoning_format_for_records_without_thinking_is_refused_before_the_hub(tmp_path, hub):
    run = tmp_path / "run"
    write(run / "manifest.json", json.dumps({"recipe": "respond", "name": "x"}))
    write(run / "data.jsonl", json.dumps({"messages": [{"role": "user", "content": "Q"},
                                                       {"role": "assistant", "content": "A"}],
                                          "instruction": "Q", "input": "", "output": "A", "meta": {}}) + "\n")
    res = distill("push", str(run), "tester/x", "--format", "thinking", env=_env(hub, tmp_path))
    assert res.returncode != 0 and "no record holds thinking" in res.stderr
    assert hub.repos == {} and hub.requests == []
