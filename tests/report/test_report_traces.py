"""The report's section on reasoning traces (distill/report/traces.py): a reasoning run against the scripted
reasoning server (the failure modes of tests/recipes/test_reasoning_recipe.py) writes it with figures checked
by hand, the page shows it in headless Chromium, and a run without thinking has no such section."""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import pytest
from browser import open_page
from helpers import distill, read_jsonl, write
from reasoning_server import ReasoningServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recipes"))
from test_reasoning_recipe import QUESTIONS, RULES  # noqa: E402  # the scripted failure modes, one source

WORD = re.compile(r"\w+|[^\w\s]")


@pytest.fixture(scope="module")
def server():
    with ReasoningServer(rules=RULES) as s:
        yield s


def _run(tmp_path, url, recipe="reasoning", options="", name="run"):
    inp = write(tmp_path / "q.jsonl", "".join(json.dumps(q) + "\n" for q in QUESTIONS))
    cfg = write(tmp_path / f"{name}.yaml", f"""recipe: {recipe}
teacher: {{provider: openai, model: r1-like, base_url: {url}}}
input: {{path: {inp}, field: question, input_field: null}}
out: {tmp_path / name}
{options}""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    return tmp_path / name


def test_a_reasoning_run_reports_its_traces(tmp_path, server):
    run = _run(tmp_path, server.url, options="options: {samples: 10, max_trace_tokens: 300, verify: {kind: math}}\n")
    traces = json.loads((run / "report.json").read_text())["traces"]
    data = read_jsonl(run / "data.jsonl")
    assert traces["records_with_thinking"] == len(data) == 12 and traces["records_without_thinking"] == 0
    thinking = [len(WORD.findall(r["reasoning"])) for r in data]
    answers = [len(WORD.findall(r["output"])) for r in data]
    assert traces["thinking_tokens"]["median"] == statistics.median(thinking)
    assert (traces["thinking_tokens"]["min"], traces["thinking_tokens"]["max"]) == (min(thinking), max(thinking))
    assert traces["answer_tokens"]["median"] == statistics.median(answers)
    # 20 traces, 7 of the sum's failing a check (two empty: no thinking, a copied answer), the sky's 10 passing
    assert traces["traces"] == 20 and traces["passed_checks"] == 13
    shares = {c["check"]: (c["traces"], c["share"]) for c in traces["checks"]}
    assert shares == {"truncated": (1, 0.05), "no_final_answer": (1, 0.05), "empty_reasoning": (2, 0.1),
                      "too_long": (1, 0.05), "repetition_loop": (1, 0.05), "language_mix": (1, 0.05)}
    # the sum: verified, 2 of 10 right, hard, 2 kept (one wrong answer rejected); the sky: unverified, short, easy
    assert traces["difficulty"] == [
        {"difficulty": "easy", "questions": 1, "samples": 10, "verified": 0, "share_correct": None, "kept": 10},
        {"difficulty": "hard", "questions": 1, "samples": 10, "verified": 10, "share_correct": 0.2, "kept": 2}]
    assert traces["kept_per_question"] == {"questions": 2, "mean": 6.0, "spread": [  # no question left with none
        {"kept": 0, "questions": 0}, {"kept": 2, "questions": 1}, {"kept": 10, "questions": 1}]}
    assert f"| median thinking length (tokens) | {statistics.median(thinking):.4g} |" in (run / "README.md").read_text()

    _image, dom = open_page(run / "report.html", tmp_path)
    section = re.search(r'<section id="traces-section">(.*?)</section>', dom, re.DOTALL)
    assert section, "no traces section on the page"
    text = re.sub(r"<[^>]+>", "|", section.group(1))
    assert "Reasoning traces" in text and "Checks over the 20 traces the teacher returned (13 passed)" in text
    assert re.search(r"\|repetition_loop\|+1\|+0\.05\|", text) and re.search(r"\|hard\|+1\|+10\|+10\|+0\.2\|+2\|", text)
    assert "Traces kept per question (mean 6 over 2 questions)" in text


def test_a_run_without_thinking_has_no_traces_section(tmp_path, server):
    """respond on prompts no rule matches: plain answers, no thinking, so neither figures nor section."""
    run = _run(tmp_path, server.url, recipe="respond")
    assert "traces" not in json.loads((run / "report.json").read_text())
    assert 'id="traces' not in (run / "report.html").read_text()
