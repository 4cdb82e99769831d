"""A recipe that stops short of its target says so (issue #35, item 4): alpaca against a teacher whose replies
hold no usable task ran out of patience with 0 of 3 instructions; that is a line on the console and in the card,
and exit 1 with the run folder kept. A run that reaches its target prints no such line."""

from __future__ import annotations

import json

from helpers import ROOT, distill, write
from scripted_replies import ALPACA_REPLY


def _alpaca(tmp_path, url, num):
    return write(tmp_path / "r.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {url}}}
num: {num}
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, in_flight: 2, patience: 4}}
""")


def test_alpaca_that_makes_nothing_says_so_and_exits_1(tmp_path, teacher_server):
    # a small model's reply: it restates the prompt's rules instead of writing numbered tasks
    teacher_server.configure(rules=[{"match": r"Instruction:$",
                                     "reply": "Here are the requirements: 1) be diverse 2) be in English"}])
    res = distill("run", str(_alpaca(tmp_path, teacher_server.url, 3)), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert ("alpaca stopped short: 0 of 3 instructions (4 prompts in a row added none: options.patience, after 4 "
            "prompts); 0 record(s) accepted; most rejected: generate unparseable_item 4") in res.stderr
    assert "nothing was made" in res.stderr
    out = tmp_path / "run"
    manifest = json.loads((out / "manifest.json").read_text())  # the folder is kept, finished
    assert manifest["target"] == {"what": "instructions", "made": 0, "target": 3,
                                  "stopped": "4 prompts in a row added none: options.patience, after 4 prompts"}
    card = (out / "README.md").read_text()
    assert "**Stopped short of the target:** alpaca stopped short: 0 of 3 instructions" in card


def test_alpaca_that_reaches_its_target_prints_no_shortfall(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": r"Instruction:$", "reply": ALPACA_REPLY}])
    res = distill("run", str(_alpaca(tmp_path, teacher_server.url, 2)), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "stopped short" not in res.stderr + res.stdout
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["target"] == {"what": "instructions", "made": 2, "target": 2}
    assert "Stopped short" not in (tmp_path / "run" / "README.md").read_text()


def test_an_input_driven_recipe_that_accepts_nothing_says_why_and_exits_1(tmp_path, teacher_server):
    """respond, math_qa, knowledge_qa... set no target: a run whose every candidate was rejected said
    "0 accepted" and exited 0 (found against llama_cpp.server with SmolLM2: math_qa 0 of 3, knowledge_qa 0 of 2)."""
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Say hi {i}"}) + "\n" for i in range(3)))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
options: {{min_words: 50}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert ("respond made 3 of 3 candidates, but no record of them was accepted; 0 record(s) accepted; most "
            "rejected: respond too_short 3") in res.stderr
    assert (tmp_path / "run" / "rejected.jsonl").read_text().count("too_short") == 3
