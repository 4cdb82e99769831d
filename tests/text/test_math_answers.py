"""Math answers are parsed by our own grammar, never evaluated as code: hostile `\\boxed{}` contents are plain text
(no file written, no exception, a prompt return); percentages, GSM8K `#### 72` answers, tuples and symbolic
answers compare as a grader would; and majority voting never keeps code as a math answer."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from helpers import distill, read_jsonl, write

from distill.text.math_answers import (
    equivalent,
    extract_boxed,
    final_answers,
    is_math_answer,
    normalize,
    parse_answer,
    reference_answer,
    trim_after_boxed,
)

HOSTILE = ["__import__('os').system('id>p.txt')", "[1][5]", "10^10^10", "2^{2^{2^{2^{2^{2}}}}}",
           "(lambda: __import__('os').system('id>p.txt'))()", "exec(\"open('p.txt','w')\")", "9^9^9^9",
           "1e999999999", "10!!!!", "\\sqrt[0]{0}", "0^{-1}", "(" * 400 + "1" + ")" * 400, "-" * 5000 + "1",
           "\\frac{1}{0}", "x" * 10_000, "{" * 5000, "\\boxed{" * 3000]


def _call_all(answer: str, errors: list[BaseException]) -> None:
    try:
        for other in ("1", "5", answer, "\\frac{1}{2}", "x+1"):
            equivalent(answer, other)
            equivalent(other, answer)
        extract_boxed(f"So \\boxed{{{answer}}}.")
        final_answers(f"So\n#### {answer}")
        trim_after_boxed(f"\\boxed{{{answer}}} after")
        normalize(answer)
        parse_answer(answer)
        is_math_answer(answer)
    except BaseException as exc:  # noqa: BLE001 - the test reports any exception at all
        errors.append(exc)


@pytest.mark.parametrize("answer", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_are_plain_text(answer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    errors: list[BaseException] = []
    worker = threading.Thread(target=_call_all, args=(answer, errors), daemon=True)
    worker.start()
    worker.join(timeout=20)  # generous: each call is bounded; the old sympy path ran 12 minutes on 10^10^10
    assert not worker.is_alive(), "comparing the answer did not return"
    assert errors == []
    assert list(tmp_path.iterdir()) == []  # nothing was executed: no p.txt
    assert not is_math_answer(answer) or parse_answer(answer) is not None


def test_code_is_not_a_math_answer():
    assert not is_math_answer("__import__('os').system('id>p.txt')") and not is_math_answer("[1][5]")
    assert not equivalent("[1][5]", "5") and not equivalent("10^10^10", "1")
    for ok in ("12", "\\frac{3}{4}", "(1, 2)", "\\text{Monday}", "x^2+1", "[0, 1)"):
        assert is_math_answer(ok), ok


EQUAL = [("25\\%", "25"), ("25\\%", "0.25"), ("25 percent", "25"), ("(1, 2)", "(1,2)"), ("\\{1,2\\}", "\\{2, 1\\}"),
         ("x^2-1", "(x-1)(x+1)"), ("\\sqrt[3]{8}", "2"), ("1.5\\times10^{3}", "1500"), ("5!", "120"),
         ("\\frac12", "0.5"), ("2^{-1}", "\\frac{1}{2}"), ("\\sin^2x+\\cos^2x", "1"), ("1{,}000", "1000"),
         ("\\log_2 8", "3"), ("\\log_28", "3"), ("\\log_{2} 8", "3"), ("1 000", "1000")]
UNEQUAL = [("0.5", "50"), ("(1,2)", "(2,1)"), ("[0,1)", "[0,1]"), ("x^2", "x^3"), ("\\{1,2\\}", "\\{1,2,3\\}"),
           ("2x", "2y"), ("25\\%", "2.5"), ("\\log_2 8", "\\log_{28}1")]


@pytest.mark.parametrize("a,b", EQUAL)
def test_equal_answers(a, b):
    assert equivalent(a, b) and equivalent(b, a)


@pytest.mark.parametrize("a,b", UNEQUAL)
def test_unequal_answers(a, b):
    assert not equivalent(a, b) and not equivalent(b, a)


HUGE = ["10^{1000}", "300!", "2^{4000}", "-10^{1000}", "\\frac{10^{1000}}{3}"]  # exact rationals, beyond any float
IRRATIONAL = ["\\pi", "\\sqrt{2}", "2\\sqrt{2}", "\\sin 1", "1.5", "x"]


@pytest.mark.parametrize("huge", HUGE)
def test_rationals_beyond_float_range_compare_without_overflow(huge):
    """`\\boxed{10^{1000}}` against a reference `\\pi` raised OverflowError (float() of the exact value)."""
    for other in IRRATIONAL:
        assert not equivalent(huge, other) and not equivalent(other, huge), other
    assert equivalent(huge, huge) and not equivalent(huge, "10^{1001}")
    assert equivalent("10^{1000}", "10^{500}\\cdot10^{500}")


def test_gsm8k_final_answers():
    solution = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                "Altogether she sold 48+24 = <<48+24=72>>72 clips.\n#### 72")
    assert reference_answer(solution) == "72" and final_answers(solution) == ["72"]
    assert reference_answer("\\frac{1}{2}") == "\\frac{1}{2}" and reference_answer("Work. \\boxed{7}") == "7"
    assert final_answers("Thus \\boxed{3}.\n#### 4") == ["3"]  # a box wins over a #### line
    assert trim_after_boxed("Work it out.\n#### 1,000\nHope this helps!") == "Work it out.\n#### 1,000"
    assert equivalent(reference_answer("...\n#### 1,000"), "1000")


LONG = " We work it out carefully, one step after another, checking each intermediate value along the way." * 3
RULES = [
    {"match": r"Problem:\nNo truth\?", "reply": "Think." + LONG + " \\\\boxed{__import__('os').system('touch pwned')}"},
    {"match": r"Problem:\nGSM\?", "reply": "Half of 48 is 24, and 48 + 24 = 72." + LONG + "\n#### 72"},
    {"match": r"Problem:\nIndex\?", "reply": "Index." + LONG + " \\\\boxed{[1][5]}"},
    {"match": r"Problem:\nTower\?", "reply": "Huge." + LONG + " \\\\boxed{10^10^10}"},
]


def test_math_qa_never_executes_or_keeps_code(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    rows = [{"problem": "No truth?"}, {"problem": "GSM?", "answer": "48/2 = 24 in May.\n#### 72"},
            {"problem": "Index?", "answer": "5"}, {"problem": "Tower?"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 3}}
""")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for _attempt in range(2):  # the re-run replays the same outcomes
        res = distill("run", str(cfg), "--no-progress", cwd=cwd, timeout=120)
        assert res.returncode == 0, res.stderr
        assert list(cwd.iterdir()) == [] and not Path("pwned").exists()
        data = read_jsonl(tmp_path / "run" / "data.jsonl")
        assert {r["instruction"] for r in data} == {"GSM?", "Tower?"}
        assert all(r["meta"]["answer"] == "72" for r in data if r["instruction"] == "GSM?")
        rejected = {(r["item"]["problem"], r["reason"]) for r in read_jsonl(tmp_path / "run" / "rejected.jsonl")}
        assert rejected == {("No truth?", "not_a_math_answer"), ("Index?", "wrong_answer")}
