"""Every shipped recipe: running the same command again on a finished run makes no call (counted by the server)
and writes the same files byte for byte.

The first run gets replies with a little jitter, so they arrive out of order as from a real server; the re-run
gets every reply from the cache at once. The scripted replies are the recipes' own test scripts
(tests/scripted_replies.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import scripted_replies as scripted
from helpers import ROOT, distill, read_jsonl, write, write_instructions

SEEDS = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"
FILES = ("data.jsonl", "rejected.jsonl", "pairs.jsonl", "failed.jsonl")


def _respond(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = write_instructions(tmp / "in.jsonl", 12)
    rules = [{"match": r"Rate|grade|rubric", "reply": '{"rationale": "ok", "score": 8}'}]
    return rules, f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
quality: {{rubric: overall}}
"""


def _self_instruct(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.SELF_INSTRUCT_RULES[1:], f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 12
options: {{seeds: {SEEDS}, patience: 10}}
"""


def _alpaca(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    # replies are useful only when the first demonstration starts with W (prompts 0, 9, 10, 15, 16, 18, ...):
    # an uneven yield, so the window has made prompts it had not sent yet when the target is reached
    rules = [{"match": r"###\n1\. Instruction: W[\s\S]*Instruction:$", "reply": scripted.ALPACA_REPLY},
             {"match": r"Instruction:$", "reply": "Nothing useful here."}]
    return rules, f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 12
options: {{seeds: {SEEDS}}}
"""


def _evol(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = write(tmp / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in scripted.EVOL_ROOTS))
    return scripted.EVOL_RULES, f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
seed: 5
"""


def _lab(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.LAB_RULES, scripted.lab_config(tmp, url, questions_per_seed=3, contexts_per_seed=2)


def _math(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "What is 3 + 3?", "answer": "6"},
            {"problem": "No truth?"}]
    return scripted.MATH_RULES, scripted.math_config(tmp, url, rows, samples=4)


def _knowledge(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.KNOWLEDGE_RULES, scripted.knowledge_config(url)


RECIPES = {"respond": _respond, "self_instruct": _self_instruct, "alpaca": _alpaca, "evol_instruct": _evol,
           "lab": _lab, "math_qa": _math, "knowledge_qa": _knowledge}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_rerun_of_a_finished_run_makes_no_call_and_writes_the_same_files(tmp_path, teacher_server, recipe):
    rules, text = RECIPES[recipe](tmp_path, teacher_server.url)
    teacher_server.configure(rules=rules, jitter=0.03, seed=11)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", text + f"out: {out}\n")
    first = distill("run", str(cfg), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert read_jsonl(out / "data.jsonl"), f"{recipe}: the first run accepted nothing"
    files = {name: (out / name).read_bytes() for name in FILES if (out / name).exists()}
    calls = teacher_server.stats()["requests"]
    assert calls > 0

    again = distill("run", str(cfg), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert teacher_server.stats()["requests"] == calls, f"{recipe}: the re-run sent requests"
    assert " 0 new," in again.stdout
    assert {name: (out / name).read_bytes() for name in FILES if (out / name).exists()} == files
