"""Verifiable math QA: answer equivalence, boxed extraction, truth and majority verification, limits,
augmentation and decontamination, against a scripted teacher; one run on the embedded teacher."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from helpers import ROOT, distill, expected_exit, read_jsonl, write
from scripted_replies import MATH_RULES, WORKING

from distill.prompts import render
from distill.recipes.math_qa.options import MathOptions
from distill.text.math_answers import equivalent, extract_boxed, trim_after_boxed

EQUAL = [("5", "5.0"), ("1/2", "0.5"), ("\\frac{1}{2}", "0.5"), ("\\dfrac{3}{4}", "\\frac{3}{4}"), ("1,000", "1000"),
         ("50\\%", "0.5"), ("12 cm", "12"), ("\\text{12 apples}", "12"), ("x = 3", "3"), ("\\$5.00", "5"),
         ("2\\sqrt{2}", "\\sqrt{8}"), ("\\frac{\\pi}{2}", "\\pi/2"), ("2x+2", "2(x+1)"), ("-0.25", "-\\frac{1}{4}"),
         ("90^\\circ", "90")]
UNEQUAL = [("3", "4"), ("1/3", "0.33"), ("x+1", "x+2"), ("\\sqrt{2}", "2"), ("12", "120"), ("a", "b"),
           ("", "0"), ("1/0", "0")]


@pytest.mark.parametrize("a,b", EQUAL)
def test_equivalent_answers(a, b):
    assert equivalent(a, b) and equivalent(b, a)


@pytest.mark.parametrize("a,b", UNEQUAL)
def test_different_answers(a, b):
    assert not equivalent(a, b)


def test_boxed_extraction_and_trimming():
    assert extract_boxed("x \\boxed{\\frac{1}{2}} y \\boxed{3}") == ["\\frac{1}{2}", "3"]
    assert extract_boxed("no answer") == [] and extract_boxed("\\boxed{unclosed") == []
    assert trim_after_boxed("So \\boxed{4}.\nI hope this helps!") == "So \\boxed{4}."


def test_math_qa_against_a_scripted_teacher(tmp_path, teacher_server):
    teacher_server.configure(rules=MATH_RULES)
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "What is 3 + 3?", "answer": "6"},
            {"problem": "Short?", "answer": "1"}, {"problem": "Two boxes?", "answer": "1"},
            {"problem": "No truth?"},
            {"problem": "Tom has 12 marbles. He gives 5 to his sister and then buys 8 more. How many marbles does"
                        " he have now?", "answer": "15"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    benchmark = write(tmp_path / "bench.jsonl", (ROOT / "recipes" / "data" / "benchmark_questions.jsonl").read_text())
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options:
  samples: 3
  decontaminate: [{benchmark}]
  augment: 1
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    solve = [b for b in teacher_server.bodies() if "Solution:" in b["messages"][0]["content"]]
    assert solve[0]["n"] == 3 and solve[0]["temperature"] == 1.0 and solve[0]["top_p"] == 0.95
    assert solve[0]["max_tokens"] == 2048 and "\\boxed{}" in solve[0]["messages"][0]["content"]

    data = read_jsonl(out / "data.jsonl")
    by_problem = Counter(r["instruction"] for r in data)
    assert by_problem["What is 2 + 2?"] == 3
    assert "No truth?" in by_problem  # the unanimous majority stands in for the missing answer
    assert sum(1 for r in data if r["meta"]["source"] == "augmented") > 0  # new problems, labelled by majority
    two = next(r for r in data if r["instruction"] == "What is 2 + 2?")
    assert two["output"].endswith("\\boxed{4}.") and "Extra words" not in two["output"]
    assert two["meta"]["expected_source"] == "ground_truth" and two["meta"]["answer"] == "4"
    aug = next(r for r in data if r["meta"]["source"] == "augmented")
    assert aug["meta"]["expected_source"] == "majority" and aug["meta"]["agreement"] == 1.0

    reasons = Counter((r["stage"], r["reason"]) for r in read_jsonl(out / "rejected.jsonl"))
    assert reasons[("verify", "wrong_answer")] == 3
    assert reasons[("verify", "solution_too_short")] == 3
    assert reasons[("solve", "multiple_boxed_answers")] == 3
    assert reasons[("decontaminate", "benchmark_overlap")] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["decontamination"]["removed"] == 1 and manifest["decontamination"]["n"] >= 8
    assert manifest["decontamination"]["checked"] == 12 and manifest["math"]["problems"] == 11  # 6 seeds + 6 new

    # the same command again replays every problem from the run folder: no call, the same files and counts
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    calls = len(teacher_server.bodies())
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == calls
    assert {name: (out / name).read_bytes() for name in files} == files
    again = json.loads((out / "manifest.json").read_text())
    assert again["math"] == manifest["math"] and again["decontamination"] == manifest["decontamination"]
    assert again["usage"]["teacher"]["cache_hits"] == manifest["usage"]["teacher"]["requests"]

    # the benchmark file is part of what the records depend on: a question added to it removes that problem
    # on the next run, rebuilt from the cached answers without a call
    with benchmark.open("a") as f:
        f.write(json.dumps({"question": "What is 2 + 2?"}) + "\n")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == calls
    edited = json.loads((out / "manifest.json").read_text())
    assert edited["decontamination"]["removed"] == 2
    assert "What is 2 + 2?" not in {r["instruction"] for r in read_jsonl(out / "data.jsonl")}


def test_no_majority_without_enough_agreement(tmp_path, teacher_server):
    rules = [{"match": r"Problem:\nSplit\?", "reply": "Work." + WORKING + " \\\\boxed{{h}}"}]  # every sample differs
    teacher_server.configure(rules=rules)
    inp = write(tmp_path / "in.jsonl", json.dumps({"problem": "Split?"}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 4}}
""")
    assert distill("run", str(cfg), "--no-progress").returncode == 1  # nothing accepted: said, exit 1
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["no_majority"] * 4


def test_few_shot_solutions_clear_the_minimum_length():
    # a teacher imitating the examples must not be discarded for imitating them: five worked solutions (as
    # OpenMathInstruct uses), each at least as long as the solution minimum
    prompt = render("math_qa/solve.j2", problem="NEW")
    solutions = re.findall(r"Solution:\n(.*?)\n\nProblem:", prompt, re.DOTALL)
    assert len(solutions) == 5
    assert all(len(s) >= MathOptions().min_solution_chars for s in solutions), [len(s) for s in solutions]
    assert all(s.rstrip().endswith("}.") and "\\boxed{" in s for s in solutions)


def test_solution_token_limit_can_apply(tmp_path, teacher_server):
    # by default a solution can be longer than the 1024-token limit without being cut off, so the limit (not
    # truncation) decides: a finished 1,300-token solution is dropped as too long, a 300-token one is kept
    assert MathOptions().solve.max_tokens > MathOptions().max_solution_tokens
    step = " Then we add the next number to the running total and write the new total down."
    teacher_server.configure(rules=[
        {"match": r"Problem:\nLong sum\?\n+Solution:$", "reply": "Start at zero." + step * 65 + " \\\\boxed{5}"},
        {"match": r"Problem:\nMid sum\?\n+Solution:$", "reply": "Start at zero." + step * 15 + " \\\\boxed{5}"}])
    rows = [{"problem": "Long sum?", "answer": "5"}, {"problem": "Mid sum?", "answer": "5"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 1}}
""")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert all(b["max_tokens"] == 2048 for b in teacher_server.bodies())
    assert [r["instruction"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")] == ["Mid sum?"]
    assert [r["reason"] for r in read_jsonl(tmp_path / "run" / "rejected.jsonl")] == ["solution_too_long"]


def test_reference_field_reaches_the_judge(tmp_path, teacher_server):
    # README: `quality.reference_field` is reference-guided grading for math. The seed problem's column value is
    # the reference; an augmented problem (no column) is graded against its verified majority answer
    teacher_server.configure(rules=[
        {"match": r"grading one response", "reply": '{"rationale": "fine", "score": 8}'},
        {"match": r"Write one new math word problem", "reply": "A shop has 3 boxes of 4 pens. How many pens?"},
        {"match": r"Problem:\nWhat is 2 \+ 2\?\n+Solution:$", "reply": "Two plus two." + WORKING + " \\\\boxed{4}"},
        {"match": r"Problem:\nA shop has[\s\S]*Solution:$", "reply": "Count them." + WORKING + " \\\\boxed{12}"}])
    inp = write(tmp_path / "in.jsonl", json.dumps({"problem": "What is 2 + 2?", "gold": "four (4)"}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 2, answer_field: nothing, augment: 1}}
quality: {{rubric: overall, reference_field: gold}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    judged = [b["messages"][0]["content"] for b in teacher_server.bodies()
              if "grading one response" in b["messages"][0]["content"]]
    assert len(judged) == len(set(judged)) == 2  # the two samples of a problem read alike: one judge call each pair
    references = sorted(j.split("# Reference answer (treat it as correct)\n")[1].split("\n")[0] for j in judged)
    assert references == ["12", "four (4)"]
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 4


@pytest.mark.slow
def test_math_qa_on_the_embedded_teacher(tmp_path):
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "math_qa.yaml"), "--num", "2", "--out", str(tmp_path / "run"),
                  "--no-progress", timeout=900)
    assert res.returncode == expected_exit(tmp_path / "run"), res.stderr
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    # problem 1 is in the benchmark file; problem 2 gets 4 samples, each kept or rejected with a reason
    assert m["decontamination"]["removed"] == 1
    assert len(data) + len([r for r in rejected if r["stage"] != "decontaminate"]) == 4
