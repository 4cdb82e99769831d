"""The reply guard (distill/run/reply_guard.py), end to end: whatever a reader raises while reading one reply —
a recipe's parser, an answer comparison, a judge's — rejects that item with the exception's class name as the
reason, the run ends 0, and the re-run (every reply from the cache, no call) rejects it the same way.

The fault is injected into the real CLI: a small module imported before `distill.cli.main` replaces one parser,
in the module that calls it, with one that raises OverflowError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import scripted_replies as scripted
from helpers import ROOT, expected_exit, read_jsonl, write, write_instructions

SEEDS = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"
FILES = ("data.jsonl", "rejected.jsonl", "pairs.jsonl", "failed.jsonl")
PLUGIN = '''
import importlib, os
module, attr = os.environ["DISTILL_TEST_FAULT"].split(":")
def _raise(*args, **kwargs):
    raise OverflowError("injected by the test")
setattr(importlib.import_module(module), attr, _raise)
'''


def _math(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "No truth?"}]
    return scripted.MATH_RULES, scripted.math_config(tmp, url, rows, samples=3)


def _knowledge(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.KNOWLEDGE_RULES, scripted.knowledge_config(url, num=2)


def _lab(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.LAB_RULES, scripted.lab_config(tmp, url, questions_per_seed=2, contexts_per_seed=1)


def _evol(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = write(tmp / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in scripted.EVOL_ROOTS[:2]))
    return scripted.EVOL_RULES, f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
seed: 5
"""


def _alpaca(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return [{"match": r"Instruction:$", "reply": scripted.ALPACA_REPLY}], f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 3
options: {{seeds: {SEEDS}, patience: 3}}
"""


def _self_instruct(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.SELF_INSTRUCT_RULES[1:], f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 3
options: {{seeds: {SEEDS}, patience: 3}}
"""


def _respond_judged(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = write_instructions(tmp / "in.jsonl", 3)
    return [{"match": r"# Rubric", "reply": '{"rationale": "ok", "score": 4}'}], f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
quality: {{aspects: [instruction_following, helpfulness]}}
"""


# (recipe, the parser replaced in the module that calls it, the stage whose items it rejects)
FAULTS = [
    (_math, "distill.recipes.math_qa.parse:final_answers", "solve"),
    (_math, "distill.recipes.math_qa.recipe:equivalent", "verify"),
    (_math, "distill.recipes.math_qa.parse:parse_rewrite", "augment"),
    (_knowledge, "distill.recipes.shared.qa_pairs_parse:clean_list_reply", "generate"),  # inside parse_pairs
    (_knowledge, "distill.run.stage:find_json_object", "check"),  # the Checks reply's JSON
    (_lab, "distill.recipes.lab.recipe:parse_questions", "questions"),
    (_lab, "distill.recipes.lab.parse:clean_list_reply", "contexts"),  # inside parse_contexts
    (_lab, "distill.recipes.shared.qa_pairs_parse:clean_list_reply", "knowledge"),  # inside parse_pairs
    (_lab, "distill.recipes.lab.judges:parse_score", "judge"),
    (_evol, "distill.recipes.evol_instruct.recipe:parse_rewrite", "round_1"),
    (_evol, "distill.recipes.evol_instruct.recipe:answer_rejection", "round_0"),
    (_alpaca, "distill.recipes.alpaca.recipe:parse_alpaca", "generate"),
    (_self_instruct, "distill.recipes.self_instruct.recipe:parse_numbered", "bootstrap"),
    (_respond_judged, "distill.quality.judge:parse_score", "quality"),
]


def _run(cfg: Path, fault: str | None, plugin_dir: Path) -> subprocess.CompletedProcess[str]:
    code = "import runpy; runpy.run_module('distill.cli.main', run_name='__main__', alter_sys=True)"
    env = dict(os.environ)
    if fault is not None:
        code = "import distill_test_fault; " + code
        env["DISTILL_TEST_FAULT"] = fault
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(plugin_dir), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", code, "run", str(cfg), "--no-progress"], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("make,fault,stage", FAULTS, ids=[f[1].split(".")[-1] for f in FAULTS])
def test_a_reader_that_raises_rejects_its_item_fresh_and_cached(tmp_path, teacher_server, make, fault, stage):
    write(tmp_path / "plugin" / "distill_test_fault.py", PLUGIN)
    rules, text = make(tmp_path, teacher_server.url)
    teacher_server.configure(rules=rules)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", text + f"out: {out}\n")
    first = _run(cfg, fault, tmp_path / "plugin")
    # a run that accepted nothing exits 1 (run/shortfall.py), having said so; others exit 0
    assert first.returncode == expected_exit(out), first.stderr
    assert "Traceback" not in first.stderr
    rejected = read_jsonl(out / "rejected.jsonl")
    hits = [r for r in rejected if r["reason"] == "OverflowError"]
    assert hits and {r["stage"] for r in hits} == {stage}, {(r["stage"], r["reason"]) for r in rejected}
    assert all(len(r.get("raw") or "") <= 4_000 for r in hits)  # a bounded start of the reply is kept
    assert all("injected by the test" in r.get("detail", "injected by the test") for r in hits)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"][stage]["rejected"]["OverflowError"] == len(hits)
    files = {name: (out / name).read_bytes() for name in FILES if (out / name).exists()}
    calls = teacher_server.stats()["requests"]

    again = _run(cfg, fault, tmp_path / "plugin")  # every reply cached: read (or replayed) again, same rejection
    assert again.returncode == expected_exit(out), again.stderr
    assert "Traceback" not in again.stderr
    assert teacher_server.stats()["requests"] == calls
    assert {name: (out / name).read_bytes() for name in FILES if (out / name).exists()} == files


def test_a_boxed_answer_beyond_float_range_against_pi_is_a_wrong_answer(tmp_path, teacher_server):
    """No injection: `\\boxed{10^{1000}}` against a reference `\\pi` raised OverflowError (exit 1, and every re-run
    replayed the cached answer into the same crash); it is now simply not equivalent."""
    rows = [{"problem": "Huge?", "answer": "\\pi"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    teacher_server.configure(rules=[{"match": r"Problem:\nHuge\?", "reply": "Big." + scripted.WORKING
                                     + " \\\\boxed{10^{1000}}"}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
options: {{samples: 2}}
out: {tmp_path / 'run'}
""")
    for _ in range(2):
        res = _run(cfg, None, tmp_path)
        assert res.returncode == 1, res.stderr  # every answer wrong: said, exit 1
        reasons = {(r["stage"], r["reason"]) for r in read_jsonl(tmp_path / "run" / "rejected.jsonl")}
        assert reasons == {("verify", "wrong_answer")}
