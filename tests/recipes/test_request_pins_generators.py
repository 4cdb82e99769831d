"""The exact requests of evol_instruct, personas, self_instruct and alpaca are pinned, as tests/recipes/
test_request_pins.py pins the other recipes: a digest of every call's cache-key material (tests/key_recorder.py),
of every request body the scripted server received, and here also of the records and rejections the run wrote
(their reasons, raw replies and details). The pins were taken before these four recipes moved onto the stage
helper (run/stage.py), so the move is shown to change no request and no outcome. The scripts reach the paths the
move touched: cut-off and empty replies, eliminations, verdicts, unreadable ratings. `math_qa_outcomes` pins
math_qa's records and rejections the same way (test_request_pins.py pins only its requests), taken before its
`_verified` was split into named steps: every verify and solve reason, majority and ground truth, augmentation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import scripted_replies as scripted
from fake_teacher import FakeTeacher
from helpers import ROOT, write
from pinned_requests import digest, recorded_run

SEEDS = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"


def _evol(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    roots = [*scripted.EVOL_ROOTS, "zeta task", "iota task", "kappa task", "lambda task", "mu task", "theta task"]
    inp = write(tmp / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in roots))
    rules = [{"match": r"(?:Original prompt|Programming task):\nzeta", "reply": "zeta task, cut",
              "finish_reason": "length"},
             {"match": r"(?:Original prompt|Programming task):\niota", "reply": "   "},
             {"match": r"rate how difficult[\s\S]*kappa", "reply": "hard, I think"},
             {"match": r"First instruction:\nkappa", "reply": "Maybe"},
             {"match": r"rate how difficult[\s\S]*lambda task harder", "reply": "hard, I think"},
             {"match": r"(?:Original prompt|Programming task):\nmu", "reply": "mu task, same"},
             {"match": r"rate how difficult[\s\S]*mu task", "reply": '{"rationale": "r", "kind": "instruction", '
                                                                   '"score": 1}'},
             {"match": r"^alpha task harder harder$", "reply": "A long answer", "finish_reason": "length"},
             *scripted.EVOL_RULES]
    return rules, f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}}}
seed: 5
options: {{rounds: 3}}
"""


def _personas(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    personas = ["a night-shift nurse who studies pharmacology", "a beekeeper in the mountains",
                "a carpenter who builds staircases", "a tram driver in Lisbon", "a potter by the sea"]
    inp = write(tmp / "p.jsonl", "".join(json.dumps({"id": f"x{i}", "persona": p}) + "\n"
                                         for i, p in enumerate(personas)))
    rules = [{"match": r"tram driver[\s\S]*Write one request", "reply": "Plan my", "finish_reason": "length"},
             {"match": r"tram driver[\s\S]*Write one programming task", "reply": "Task: too short"},
             {"match": r"tram driver[\s\S]*Write one question", "reply": "Why do the rails {h} of the old "
                                                                         "city bend so sharply downhill?"},
             {"match": "^Why do the rails", "reply": "Because", "finish_reason": "length"},
             {"match": r"potter[\s\S]*Write one programming task", "reply": "Write a function that glazes pot {h} "
                                                                           "evenly and returns the colour."},
             {"match": "^Write a function that glazes", "reply": "Just dip it."},
             *scripted.PERSONAS_RULES]
    return rules, f"""recipe: personas
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}, field: persona, input_field: null}}
"""


def _self_instruct(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    return scripted.SELF_INSTRUCT_RULES, f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 10
options: {{seeds: {SEEDS}, patience: 10, pool_lag: 5, in_flight: 1}}
"""


def _self_instruct_classification(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    # the other path of a task: a classification, its instances written output first (one cut off: the last goes)
    rules = [{"match": r"festival[\s\S]*\n9\.$", "reply": "Plan a {h} party", "finish_reason": "length"},
             {"match": r"Invent a list of new", "reply": scripted.BOOTSTRAP_REPLY},
             {"match": r"Task: Describe the \w+ festival[^\n]*\nIs it classification\?$", "reply": "Yes"},
             {"match": r"Task: Describe the \w+ festival[^\n]*$",
              "reply": "Class label: busy\nInput: crowds {h}\nClass label: calm\nInput: empty streets\n"
                       "Class label: loud\nInput: dru", "finish_reason": "length"}]
    return rules, f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 10
options: {{seeds: {SEEDS}, patience: 10, pool_lag: 5, in_flight: 1}}
"""


def _alpaca(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    rules = [{"match": r"###\n1\. Instruction: W[\s\S]*Instruction:$", "reply": scripted.ALPACA_REPLY},
             {"match": r"###\n1\. Instruction: [A-D][\s\S]*Instruction:$", "reply": scripted.ALPACA_REPLY,
              "finish_reason": "length"},
             {"match": r"Instruction:$", "reply": "Nothing useful here."}]
    return rules, f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 8
options: {{seeds: {SEEDS}, in_flight: 1}}
"""


def _math_outcomes(tmp: Path, url: str) -> tuple[list[dict[str, Any]], str]:
    # math_qa's outcomes (test_request_pins.py pins its requests only): ground truth right, wrong, short, long and
    # unboxed; majority vote agreed and split; augmentation, an empty new problem; a benchmark overlap; too long
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "What is 3 + 3?", "answer": "6"},
            {"problem": "No truth?"}, {"problem": "Two boxes?", "answer": "1"}, {"problem": "Short?", "answer": "1"},
            {"problem": "Wordy?", "answer": "9"}, {"problem": "Split votes?"}, {"problem": "Code votes?"},
            {"problem": "GSM style?", "answer": "Natalia sold 48 clips.\n#### 72"},
            {"problem": "Which benchmark question is this one here?", "answer": "2"},
            {"problem": "Very long? " + "x " * 2100, "answer": "3"}, {"problem": "Nothing new?", "answer": "5"}]
    inp = write(tmp / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    bench = write(tmp / "bench.jsonl", json.dumps({"question": "Which benchmark question is this one here?"}) + "\n")
    work = scripted.WORKING
    rules = [{"match": r"Write one new math word problem[\s\S]*Nothing new", "reply": "   "},
             {"match": r"Problem:\nWordy\?\n+Solution:$", "reply": "Long." + work * 15 + " \\\\boxed{9}"},
             {"match": r"Problem:\nSplit votes\?\n+Solution:$", "reply": "Split." + work + " \\\\boxed{{h}}"},
             {"match": r"Problem:\nCode votes\?\n+Solution:$", "reply": "Code." + work + " \\\\boxed{print(1)}"},
             {"match": r"Problem:\nGSM style\?\n+Solution:$", "reply": "Clips." + work + " \\\\boxed{72}"},
             {"match": r"Problem:\nVery long", "reply": "Never asked."},
             {"match": r"Problem:\nNothing new\?\n+Solution:$", "reply": "Five." + work},
             *scripted.MATH_RULES]
    return rules, f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}, field: problem, input_field: null}}
options: {{samples: 3, augment: 1, decontaminate: [{bench}]}}
"""


RECIPES = {"evol_instruct": _evol, "math_qa_outcomes": _math_outcomes, "personas": _personas,
           "self_instruct": _self_instruct, "self_instruct_classification": _self_instruct_classification,
           "alpaca": _alpaca}
PINNED = {  # sha256 of the key digests, the records and rejections, and the sorted request bodies (see the doc)
    "math_qa_outcomes": "509f619c7ec8102cb4bc5061b224894a7226b3aa734ca8a040e833809c4ab68e",
    "alpaca": "e826989097729514de5e681d2b71d423ede4100d2d16367a28637101034b48b8",
    "evol_instruct": "90187f68a9040d882ceec559af1ce60c2184140aacfd58dec8f72c15885404d5",
    "personas": "0b513d36b65bc1d516b054349ef70df965f0a7b7a0cbbb88d56555f5bc3f4452",
    "self_instruct": "df303013ad367b7a6f9be97c1cd25eb821bd3b5266dd93335ca5469a16925390",
    "self_instruct_classification": "4bd3d84b678d6b82e31c7deb871dcacf54a349b09c37a70cf05a161ef5bc2366",
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_the_requests_of_each_generator_recipe_are_unchanged(tmp_path, recipe):
    with FakeTeacher() as server:
        rules, text = RECIPES[recipe](tmp_path, server.url)
        server.configure(rules=rules)
        cfg = write(tmp_path / "r.yaml", text + f"out: {tmp_path / 'run'}\n")
        log = tmp_path / "keys.txt"
        res = recorded_run(cfg, log)
        assert res.returncode in (0, 1), res.stderr  # 1: a recipe that stopped short of its target
        bodies = server.bodies()
        outcome = {name: _lines(tmp_path / "run" / name) for name in ("data.jsonl", "rejected.jsonl")}
    keys = log.read_text()
    assert keys and bodies
    pinned = digest(keys + "".join(f"{k}\n{json.dumps(v, sort_keys=True)}" for k, v in outcome.items()), bodies)
    assert pinned == PINNED.get(recipe), (
        f"{recipe}: the requests changed ({len(keys.split())} calls); a resumed run would call the teacher again")


def _lines(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))  # (written in the order calls end)
