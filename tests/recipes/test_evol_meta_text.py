"""Evol-Instruct's elimination step on what SmolLM2-135M wrote instead of a rewrite (issue #35): text about the
rewriting task itself, in words of the prompt's directions rather than fixed phrases, and a list of writing tips.
Both are eliminated in the round (the chain evolves its instruction again), never kept or evolved further."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, write

from distill.prompts import render
from distill.recipes.evol_instruct.elimination import evolution_rejection
from distill.recipes.evol_instruct.operations import directions, operations

SKY = "Explain in two sentences why the sky looks blue during the day."
TIPS = "Give three tips for writing a clear commit message."
TIDES = "Describe how tides work."
PLANETS = "Name two planets and their moons."
ABOUT_CHALLENGE = ("The key to making a challenge more understandable lies not just in the words themselves but in "
                   "crafting those phrases that speak to what makes them harder than ever.")
ABOUT_PROMPT = ("When it comes to creating a challenge, the most challenging part is\nthe actual wording and "
                "phrasing of the prompt that must be rewritten in order to make them more understandable.")
TIPS_LIST = ("1. Use of clear and concise language\n2. Proper use of punctuation to enhance the overall readability\n"
             "3. Use of bold text where needed, but avoid excessive formatting")
GENERAL = directions(operations("general"))


def test_text_about_the_rewrite_and_tip_lists_are_named():
    assert evolution_rejection(ABOUT_CHALLENGE, SKY, GENERAL) == "about_the_rewrite"
    assert evolution_rejection(ABOUT_PROMPT, TIDES, GENERAL) == "prompt_meta"
    assert evolution_rejection(TIPS_LIST, TIPS, GENERAL) == "list_not_instruction"
    assert evolution_rejection("- **Clarity**: say what changed\n- **Brevity**: one line", TIPS, GENERAL) \
        == "list_not_instruction"
    # real rewrites: the instruction's own words kept, new words of the topic, a list under a request
    for evolved, parent in [
        (SKY.rstrip(".") + ", and why it turns red at sunset, naming the scattering involved.", SKY),
        ("Explain in two sentences, for a capable reader, why the sky looks blue and what makes it harder to see "
         "at dusk.", SKY),
        ("Describe in three sentences why auroras glow green near the poles.", SKY),
        ("Give three tips for writing a clear commit message for a change to a database schema:\n1. what changed\n"
         "2. why", TIPS),
        ("1. Sort the list [3, 1, 2].\n2. Print its median.", "1. Sort the list [3, 1].\n2. Print it."),
    ]:
        assert evolution_rejection(evolved, parent, GENERAL) is None, evolved
    assert "harder" in render("evol_instruct/depth.j2", prompt="", method="")  # the words compared are there


RULES = [
    {"match": r"Original prompt:\nExplain in two sentences why the sky", "reply": ABOUT_CHALLENGE},
    {"match": r"Original prompt:\nGive three tips", "reply": f"Here is the rewritten version:\n\n{TIPS_LIST}"},
    {"match": r"Original prompt:\nDescribe how tides", "reply": ABOUT_PROMPT},
    {"match": r"Original prompt:\n([\s\S]*)$", "reply": "\\1 Include one moon discovered after 1900."},
    {"match": r"^(?!Your job)", "reply": "Mars has Phobos and Deimos; Jupiter has Io, discovered in 1610."},
]


def test_the_elimination_step_drops_them_and_the_chain_goes_back_to_its_instruction(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n"
                                               for r in (SKY, TIPS, TIDES, PLANETS)))
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {out}
seed: 2
options: {{rounds: 2, difficulty: false, equality_check: false, keep_roots: false}}
""")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(out / "data.jsonl")
    assert [r["instruction"] for r in data] == [
        PLANETS + " Include one moon discovered after 1900.",
        PLANETS + " Include one moon discovered after 1900. Include one moon discovered after 1900."]
    reasons = sorted((r["item"]["root_index"], r["stage"], r["reason"]) for r in read_jsonl(out / "rejected.jsonl"))
    assert reasons == [(root, f"round_{rnd}", why) for root, why in
                       ((0, "about_the_rewrite"), (1, "list_not_instruction"), (2, "prompt_meta")) for rnd in (1, 2)]
    # an eliminated evolution is not the next round's instruction: each root is evolved from itself again
    evolving = [b["messages"][0]["content"] for b in teacher_server.bodies()
                if "Original prompt:" in b["messages"][0]["content"]]
    for root in (SKY, TIPS, TIDES):
        prompts = [p for p in evolving if root in p or ABOUT_PROMPT in p or TIPS_LIST in p and root == TIPS]
        assert len(prompts) == 2 and all(p.rstrip().endswith(root) for p in prompts), root
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target"] == {"what": "instructions", "made": 2, "target": 8,
                                  "stopped": "an eliminated evolution is tried again only in the next round"}
    assert "evol_instruct stopped short: 2 of 8 instructions" in res.stderr
    rounds = manifest["evol_rounds"]
    assert rounds[1]["eliminated"] == {"about_the_rewrite": 1, "list_not_instruction": 1, "prompt_meta": 1}


def test_a_run_whose_every_evolution_is_eliminated_says_so_and_exits_1(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": SKY}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / "run"}
options: {{rounds: 2, difficulty: false, equality_check: false, keep_roots: false}}
""")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "evol_instruct stopped short: 0 of 2 instructions" in res.stderr
    assert "round_1 about_the_rewrite 1" in res.stderr and "Traceback" not in res.stderr


def test_a_difficulty_rating_cut_off_at_max_tokens_is_no_rating(tmp_path, teacher_server):
    # the cut reply quotes a score in its unfinished rationale: read as 9 it would pass as harder than its parent
    teacher_server.configure(rules=[
        {"match": r"rate how difficult[\s\S]*Text:\nName two planets and their moons\.\n",
         "reply": '{"rationale": "r", "kind": "instruction", "score": 2}'},
        {"match": r"rate how difficult", "reply": '{"kind": "instruction", "rationale": "Harder. A score: 9 fits since',
         "finish_reason": "length"},
        *RULES])
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": PLANETS}) + "\n")
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {out}
options: {{rounds: 1, equality_check: false, keep_roots: false}}
""")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 1, res.stdout + res.stderr
    assert [r["reason"] for r in read_jsonl(out / "rejected.jsonl")] == ["difficulty_unparseable"]
