"""Evol-Instruct against a scripted teacher: operations per round, every elimination rule, eliminated items
evolved again next round, answers as separate calls with the instruction alone, lineage and the round table."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT, distill, read_jsonl, write
from scripted_replies import EVOL_ROOTS, EVOL_RULES

from distill.recipes.evol_instruct.elimination import (
    answer_rejection,
    copied_prompt_words,
    parse_equality,
)
from distill.recipes.evol_instruct.operations import choose, operations


def test_elimination_rules():
    assert copied_prompt_words("Here is the #Rewritten Prompt#: x") == "copied_prompt_words"
    assert copied_prompt_words("Explain the given prompt") == "copied_prompt_words"
    assert copied_prompt_words("Explain tides") is None
    assert answer_rejection("I'm sorry, I can't.") == "refusal_answer"
    assert answer_rejection("Sorry " + "word " * 90) is None  # long answers that apologise are kept
    assert answer_rejection("... the, of; and it!") == "stopwords_only_answer"
    assert answer_rejection("Tides follow the moon.") is None
    assert parse_equality("Not Equal") is False and parse_equality("equal.") is True
    assert parse_equality('{"verdict": "Not Equal"}') is False and parse_equality("maybe") is None


def test_operation_sets():
    assert [o.name for o in operations("general")] == ["add_constraints", "deepen", "concretize",
                                                       "increase_reasoning", "complicate_input", "breadth"]
    assert "erroneous_code" in [o.name for o in operations("code")]
    assert "easier" in [o.name for o in operations("math")]
    assert "10 to 20 words" in operations("general")[0].prompt("x")
    # the word budget is for the rewrite's own wording: a table or code the method asks for is written in full
    complicate = next(o for o in operations("general") if o.name == "complicate_input").prompt("x")
    assert "at most 10 to 20 words longer" not in complicate and "does not count" in complicate


@pytest.mark.parametrize("op_set", ["general", "code"])
def test_evol_instruct_rounds_against_a_scripted_teacher(tmp_path, teacher_server, op_set):
    teacher_server.configure(rules=EVOL_RULES)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in EVOL_ROOTS))
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: evolver, base_url: {teacher_server.url}}}
answer_teacher: {{provider: openai, model: answerer, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
seed: 5
options: {{operation_set: {op_set}, keep_roots: false}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    bodies = teacher_server.bodies()

    # one operation per instruction per round, as chosen, rendered into the evolving prompt
    ops = operations(op_set)
    evolve_bodies = [b for b in bodies if "Original prompt:\n" in b["messages"][0]["content"]
                     or "Programming task:\n" in b["messages"][0]["content"]]
    assert len(evolve_bodies) == 5 * 4 and all(b["model"] == "evolver" for b in evolve_bodies)
    for root in range(5):
        for rnd in range(1, 5):
            op = choose(ops, 5, root, rnd)
            assert any(op.method in b["messages"][0]["content"] and EVOL_ROOTS[root].split()[0] in
                       b["messages"][0]["content"] for b in evolve_bodies), (root, rnd, op.name)
    first = evolve_bodies[0]
    assert first["temperature"] == 1.0 and first["top_p"] == 0.95 and first["max_tokens"] == 2048

    # eliminated items go back unchanged: beta is evolved from "beta task" in every round
    beta = [b for b in evolve_bodies if "\nbeta task" in b["messages"][0]["content"]]
    assert len(beta) == 4 and all(b["messages"][0]["content"].rstrip().endswith("beta task") for b in beta)

    # answers: separate calls whose whole prompt is the evolved instruction, from the answer teacher
    answer_bodies = [b for b in bodies if b["model"] == "answerer"]
    assert {b["messages"][0]["content"] for b in answer_bodies} >= {
        "alpha task harder", "alpha task harder harder", "delta task harder", "epsilon task harder"}
    assert all(len(b["messages"]) == 1 for b in answer_bodies)

    rejected = read_jsonl(out / "rejected.jsonl")
    by_root = {}
    for r in rejected:
        by_root.setdefault(r["item"]["root_index"], set()).add(r["reason"])
    assert by_root == {1: {"copied_prompt_words"}, 2: {"equal_to_parent"}, 3: {"refusal_answer"},
                       4: {"stopwords_only_answer"}}

    data = read_jsonl(out / "data.jsonl")
    assert [r["instruction"] for r in data] == ["alpha task" + " harder" * k for k in range(1, 5)]
    for k, r in enumerate(data, 1):
        m = r["meta"]
        assert m["round"] == k and m["id"] == f"e0-{k}" and m["parent_id"] == f"e0-{k - 1}"
        assert m["root"] == "alpha task" and m["root_index"] == 0
        assert m["operation"] == choose(ops, 5, 0, k).name
        assert [n["id"] for n in m["lineage"]] == [f"e0-{j}" for j in range(k + 1)]
        assert m["answer_teacher"] == "openai:answerer" and r["messages"][-1]["content"] == r["output"]
    assert [r["meta"]["difficulty"] for r in data] == [3, 5, 7, 9]  # escalation, as the judge saw it

    table = json.loads((out / "manifest.json").read_text())["evol_rounds"]
    assert table[0]["mean_difficulty"] == 1 and table[0]["rated"] == 5
    assert table[1] == {"round": 1, "attempts": 5, "survived": 1, "mean_difficulty": 3.0, "rated": 1,
                        "eliminated": {"copied_prompt_words": 1, "equal_to_parent": 1, "refusal_answer": 1,
                                       "stopwords_only_answer": 1}}
    assert [row["mean_difficulty"] for row in table[1:]] == [3.0, 5.0, 7.0, 9.0]

    # the same command again replays every root from the run folder: no call, the same files and round table
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == len(bodies)
    assert {name: (out / name).read_bytes() for name in files} == files
    assert json.loads((out / "manifest.json").read_text())["evol_rounds"] == table


def test_evol_input_can_be_another_runs_folder(tmp_path, teacher_server):
    teacher_server.configure(rules=EVOL_RULES)
    first = tmp_path / "first"
    first.mkdir()
    (first / "data.jsonl").write_text(json.dumps({"instruction": "alpha task", "input": "", "output": "x"}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {first}}}
out: {tmp_path / 'run'}
options: {{rounds: 2, difficulty: false, equality_check: false, keep_roots: false}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert [r["instruction"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")] == [
        "alpha task harder", "alpha task harder harder"]


@pytest.mark.parametrize("require_harder", [True, False])
def test_difficulty_must_rise_and_roots_are_kept(tmp_path, teacher_server, require_harder):
    # Evol-Instruct exists to make instructions harder: by default an in-depth rewrite the judge rates no harder
    # than its parent, or one that answers the instruction instead of rewriting it, is eliminated (an addition to
    # the paper); `require_harder: false` restores the paper's eliminations. The roots are answered and kept as
    # round 0, as WizardLM mixes its seeds into the released data.
    teacher_server.configure(rules=EVOL_RULES)
    roots = ["alpha task", "eta task", "theta task"]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in roots))
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
options: {{rounds: 1, operations: [add_constraints], equality_check: false,
  require_harder: {str(require_harder).lower()}}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    evolved = [r["instruction"] for r in data if r["meta"]["round"] == 1]
    assert [r["instruction"] for r in data if r["meta"]["round"] == 0] == roots
    assert all(r["meta"]["stages"] == ["answer"] and r["meta"]["lineage"][0]["id"] == r["meta"]["id"]
               for r in data if r["meta"]["round"] == 0)
    if require_harder:
        assert evolved == ["alpha task harder"]
        assert {r["item"]["root_index"]: r["reason"] for r in rejected} == {1: "not_harder",
                                                                             2: "answered_not_rewritten"}
        not_harder = next(r for r in rejected if r["reason"] == "not_harder")
        assert not_harder["item"]["difficulty"] == not_harder["item"]["parent_difficulty"] == 1
        # no answer is paid for an eliminated rewrite
        answered = {b["messages"][0]["content"] for b in teacher_server.bodies() if len(b["messages"]) == 1}
        assert "eta task, in other words" not in answered
    else:
        assert evolved == ["alpha task harder", "eta task, in other words", "Solution: theta comes to 42."]
        assert rejected == []
    table = json.loads((tmp_path / "run" / "manifest.json").read_text())["evol_rounds"]
    assert table[0]["attempts"] == table[0]["survived"] == 3


@pytest.mark.slow
def test_evol_instruct_on_the_embedded_teacher(tmp_path):
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "evol_instruct.yaml"), "--num", "1", "--out", str(tmp_path / "run"),
                  "--no-progress", timeout=900)
    assert res.returncode == 0, res.stderr
    table = json.loads((tmp_path / "run" / "manifest.json").read_text())["evol_rounds"]
    assert len(table) == 5 and sum(r["attempts"] for r in table) == 1 + 4  # the root's answer, 4 evolutions
    assert all(r["survived"] + sum(r["eliminated"].values()) == r["attempts"] for r in table)
