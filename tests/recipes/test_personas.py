"""The personas recipe: personas x task kinds, verified math, dedup across personas, persona in meta — against the
scripted server, and the shipped recipe on the embedded SmolLM2."""

from __future__ import annotations

import json

import pytest
import scripted_replies as scripted
from helpers import ROOT, distill, read_jsonl, write

from distill.recipes.personas.recipe import clean_task

PERSONAS = ["a night-shift nurse who studies pharmacology", "a beekeeper in the mountains",
            "a carpenter who builds staircases"]
RULES = scripted.PERSONAS_RULES


def _config(tmp_path, url, extra: str = ""):
    inp = write(tmp_path / "p.jsonl", "".join(json.dumps({"id": f"x{i}", "persona": p}) + "\n"
                                              for i, p in enumerate(PERSONAS)))
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: personas
teacher: {{provider: openai, model: fake-model, base_url: {url}, timeout: 5}}
input: {{path: {inp}, field: persona, input_field: null}}
out: {out}
{extra}""")
    return cfg, out


def test_personas_cross_task_kinds_verify_math_and_dedup_across_personas(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    cfg, out = _config(tmp_path, teacher_server.url)
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "10 accepted, 2 rejected, 0 failed" in res.stdout

    rows = read_jsonl(out / "data.jsonl")
    by_kind: dict[str, list] = {}
    for r in rows:
        by_kind.setdefault(r["meta"]["task"], []).append(r)
    assert {k: len(v) for k, v in by_kind.items()} == {"instruction": 3, "math": 1, "code": 3, "knowledge": 3}
    math = by_kind["math"][0]
    assert math["meta"]["persona"] == PERSONAS[0] and math["meta"]["persona_id"] == "x0"
    assert math["instruction"].startswith("A baker fills")  # the "Problem:" label is gone
    assert math["meta"]["answer"] == "96" and math["meta"]["votes"]["agreeing"] == 4
    assert math["output"].endswith("\\boxed{96}.")
    assert by_kind["instruction"][0]["instruction"].startswith("Plan a weekly timetable")
    assert all("```" in r["output"] for r in by_kind["code"])
    assert [r["meta"]["persona"] for r in by_kind["knowledge"]] == PERSONAS

    rejected = read_jsonl(out / "rejected.jsonl")
    reasons = {(r["stage"], r["reason"], r["item"]["persona"]) for r in rejected}
    assert reasons == {("verify", "no_majority", PERSONAS[1]),  # four different boxed answers
                       ("dedup", "exact_duplicate", PERSONAS[2])}  # the nurse's problem, written again
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dedup"] == {"checked": 12, "exact": 1, "near": 0}
    solve = [b for b in teacher_server.bodies() if "Solve the new problem" in b["messages"][0]["content"]]
    assert len(solve) == 2 and all(b["n"] == 4 and b["temperature"] == 1.0 for b in solve)


def test_multi_turn_follow_ups_stay_in_the_persona(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES + [{"match": "You are playing the user", "reply": "Can it be shorter?"}])
    cfg, out = _config(tmp_path, teacher_server.url, "turns: 2\noptions: {tasks: [instruction]}\n")
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(out / "data.jsonl")
    assert len(rows) == 3 and all(len(r["messages"]) == 4 for r in rows)
    prompts = [b["messages"][0]["content"] for b in teacher_server.bodies()
               if b["messages"][0]["content"].startswith("You are playing the user")]
    assert sorted(p.split("The user is: ")[1].split("\n")[0] for p in prompts) == sorted(PERSONAS)


@pytest.mark.slow  # 47 s with one llama.cpp thread; over 900 s with two on a 2-core box at load 16
def test_shipped_personas_recipe_runs_on_the_embedded_smollm2(tmp_path):
    cfg = (ROOT / "recipes" / "personas.yaml").read_text().replace("data/personas.jsonl",
                                                                   str(ROOT / "recipes/data/personas.jsonl"))
    cfg = cfg.replace("tasks: [instruction, math, code, knowledge]", "tasks: [instruction, math]")
    cfg = cfg.replace("math_samples: 4", "math_samples: 2\n  min_votes: 1")
    out = tmp_path / "run"
    path = write(tmp_path / "personas.yaml", cfg)
    res = distill("run", str(path), "--num", "2", "--out", str(out), timeout=900)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["accepted"] + manifest["counts"]["rejected"] >= 4  # 2 personas x 2 kinds, all decided
    rows = read_jsonl(out / "data.jsonl")
    assert rows, (out / "rejected.jsonl").read_text()
    personas = [json.loads(line)["persona"] for line in (ROOT / "recipes/data/personas.jsonl").open()][:2]
    assert all(r["meta"]["persona"] in personas and r["meta"]["task"] in ("instruction", "math") for r in rows)


def test_clean_task():
    assert clean_task("**Math problem:** Sam has 3 apples. How many?\n\nSolution: 3") == "Sam has 3 apples. How many?"
    assert clean_task('"Plan my week."') == "Plan my week."
