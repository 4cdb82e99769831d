"""The exact requests of the recipes built on the stage helper (run/stage.py) are pinned: for each, a digest of
every call's cache-key material (messages, sampling parameters, sample number: tests/key_recorder.py) and of every
request body as the scripted server received it (key order included). A refactoring that changes one byte of one
prompt, one parameter or one sample number — so that a resumed run from before it would call the teacher again —
fails here with the recipe's name. A deliberate change of a prompt updates the pin in the same commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import scripted_replies as scripted
from fake_teacher import FakeTeacher
from helpers import write
from pinned_requests import digest, recorded_run

TAG = {"match": "You are rating a request", "reply": '{"difficulty": "Medium ", "quality": "good"}'}
MAGPIE_RULES = [{"match": r"^<\|im_start\|>system", "reply": "Which sorting algorithm suits dataset {h} best?"},
                TAG, {"match": "^Which sorting", "reply": "Merge sort, because {h} is large."}]
TURN_RULES = [{"match": r"follow-up", "reply": "User: Thanks! But what if case {h} is empty?"},
              {"match": r"# Response to grade", "reply": '{"rationale": "fine", "score": 9}'},
              {"match": r"Rate|grade|rubric", "reply": '{"rationale": "ok", "score": 8}'}]


def _rows(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    return write(tmp / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def _respond(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = _rows(tmp, [{"instruction": f"Task number {i}: say something", "input": "x" if i % 2 else ""}
                      for i in range(5)])
    return [{"match": r"Task number 3", "reply": "", "finish_reason": "length"}], f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
options: {{samples: 2, system: true}}
"""


def _multi_turn(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    inp = _rows(tmp, [{"instruction": f"Question {i}"} for i in range(3)])
    return TURN_RULES, f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
turns: 3
quality: {{rubric: overall}}
"""


def _math(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "What is 3 + 3?", "answer": "6"},
            {"problem": "No truth?"}, {"problem": "Two boxes?", "answer": "1"}]
    return scripted.MATH_RULES, scripted.math_config(tmp, url, rows, samples=4)


def _knowledge(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.KNOWLEDGE_RULES, scripted.knowledge_config(url)


def _lab(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.LAB_RULES, scripted.lab_config(tmp, url, questions_per_seed=3, contexts_per_seed=2)


def _magpie(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return MAGPIE_RULES, f"""recipe: magpie
teacher: {{provider: openai, model: m, base_url: {url}}}
seed: 3
options: {{count: 4, system: Ask about algorithms.}}
"""


RECIPES = {"respond": _respond, "multi_turn": _multi_turn, "math_qa": _math, "knowledge_qa": _knowledge,
           "lab": _lab, "magpie": _magpie}
PINNED = {  # sha256 of the sorted key digests and the sorted request bodies; see the module doc
    "knowledge_qa": "94a8f32b4a7b6121c967e5d1df319c4b9f4bc19194496680361b913bea2446d8",
    # lab re-pinned when identical requests in flight became one (engine/single_flight.py): the same 285 keys and
    # distinct bodies; the server received 365 bodies before (80 sent twice at once) and 285 now
    "lab": "207e939fc49094a8f790cf409ae800f2a64def5081ef19c5a75f93656ed504fa",
    "magpie": "7f18c7f5a01f7873ef13fabdfd0ec788761249718e9b625c690d8606facf0bb6",
    "math_qa": "ff4fa44e9af55cc0c9aa121e234a2e869ff57d1613331a7351615e92a2eab655",
    "multi_turn": "8285dd8d3df99312af8e542f6b2ca46b1aa04b0a68b87548d249edf7a3a760b6",
    "respond": "91efcde5338066ad449f09ace68bb436c7dfeebc11449802471b931dbff7b44c",
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_the_requests_of_each_converted_recipe_are_unchanged(tmp_path, recipe):
    with FakeTeacher(raw=recipe == "magpie") as server:
        rules, text = RECIPES[recipe](tmp_path, server.url)
        server.configure(rules=rules, raw=recipe == "magpie")
        cfg = write(tmp_path / "r.yaml", text + f"out: {tmp_path / 'run'}\n")
        log = tmp_path / "keys.txt"
        res = recorded_run(cfg, log)
        assert res.returncode == 0, res.stderr
        bodies = server.bodies()
    keys = log.read_text()
    assert keys and bodies
    assert digest(keys, bodies) == PINNED.get(recipe), (
        f"{recipe}: the requests changed ({len(keys.split())} calls); a resumed run would call the teacher again")
