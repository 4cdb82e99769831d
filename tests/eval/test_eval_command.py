"""`distill eval` end to end against scripted OpenAI-compatible servers on 127.0.0.1 (the real openai client): a
student and a baseline answer six held-out questions, a judge compares them in both orders, a math verifier and
the rows' format constraints are checked; every figure with its interval. The same command again makes no
request to any server and writes the same figures."""

from __future__ import annotations

import json

from fake_teacher import FakeTeacher
from helpers import distill, write

HELD = [  # question, reference, constraints
    ("What is 2 plus 3?", "5", None),
    ("What is 4 plus 4?", "8", None),
    ("What is 10 minus 7?", "3", None),
    ("Name a colour in lowercase.", "", [{"type": "lowercase"}]),
    ("Give two bullets about bread.", "", [{"type": "bullets", "count": 2}, {"type": "no_commas"}]),
    ("Say hi in at most 3 words.", "", [{"type": "words", "max": 3}]),
]
STUDENT = [  # 2 of 3 sums right; lowercase ok; 2 bullets but a comma; 3 words ok
    {"match": r"2 plus 3", "reply": "The answer is 5."},
    {"match": r"4 plus 4", "reply": "The answer is 9."},
    {"match": r"10 minus 7", "reply": "10 - 7 = 3"},
    {"match": r"colour", "reply": "blue"},
    {"match": r"bullets", "reply": "* warm, soft\n* crusty"},
    {"match": r"Say hi", "reply": "hi there friend"},
]
BASELINE = [{"match": r"plus|minus", "reply": "I do not know."}, {"match": r".", "reply": "BASELINE ANSWER"}]
JUDGE = [  # prefers the student on the three sums, the baseline on "colour", follows position on the rest
    {"match": r"(?s)Question: Name a colour.*Answer A:\nBASELINE", "reply": "Winner: A"},
    {"match": r"(?s)Question: Name a colour.*Answer B:\nBASELINE", "reply": "Winner: B"},
    {"match": r"(?s)Question: What is.*Answer A:\n(The answer|10 -)", "reply": "Winner: A"},
    {"match": r"(?s)Question: What is.*Answer B:\n(The answer|10 -)", "reply": "Winner: B"},
    {"match": r".", "reply": "Winner: A"},
]


def _held(tmp):
    rows = []
    for q, ref, cons in HELD:
        row = {"instruction": q, "answer": ref}
        if cons:
            row["constraints"] = cons
        rows.append(json.dumps(row))
    return write(tmp / "held.jsonl", "\n".join(rows) + "\n")


def test_eval_measures_each_model_and_a_rerun_makes_no_request(tmp_path):
    held = _held(tmp_path)
    out = tmp_path / "ev"
    with FakeTeacher(rules=STUDENT) as s, FakeTeacher(rules=BASELINE) as b, FakeTeacher(rules=JUDGE) as j:
        args = ["eval", f"openai:student@{s.url}", "--on", str(held), "--out", str(out), "--verifier", "math",
                "--judge", f"openai:judge@{j.url}", "--baseline", f"openai:base@{b.url}"]
        env = {"OPENAI_API_KEY": "sk-test"}
        first = distill(*args, env=env)
        assert first.returncode == 0, first.stderr
        sent = (s.stats()["answered"], b.stats()["answered"], j.stats()["answered"])
        assert sent == (6, 6, 12)  # six answers each, six pairs judged in both orders
        result = json.loads((out / "eval.json").read_text())
        again = distill(*args, env=env)
        assert again.returncode == 0, again.stderr
        assert (s.stats()["answered"], b.stats()["answered"], j.stats()["answered"]) == sent
    rerun = json.loads((out / "eval.json").read_text())
    assert all(c["requests"] == 0 for c in rerun["calls"].values()) and "0 calls made" in again.stdout
    assert rerun["models"] == result["models"]
    (m,) = result["models"]
    # the math verifier on the three sums (rows without a reference answer fail it)
    assert m["pass_rate"]["passed"] == 2 and m["pass_rate"]["total"] == 6
    assert m["per_question"]["pass"] == [True, False, True, False, False, False]
    ifr = m["instruction_following"]
    assert (ifr["prompts"], ifr["prompts_followed"], ifr["constraints"], ifr["constraints_met"]) == (3, 2, 4, 3)
    assert ifr["prompt_ci95"][0] < ifr["prompt_rate"] < ifr["prompt_ci95"][1]
    wr = m["win_rate"]
    assert (wr["wins"], wr["losses"], wr["ties"], wr["inconsistent"]) == (3, 1, 2, 2)
    assert wr["win_rate"] == round((3 + 1) / 6, 4) and wr["baseline"] == f"openai:base@{b.url}"
    assert "pass rate" in first.stdout and "[" in first.stdout


def test_nothing_to_measure_and_bad_constraints_stop_before_any_call(tmp_path):
    held = write(tmp_path / "held.jsonl", json.dumps({"instruction": "hi"}) + "\n")
    with FakeTeacher() as s:
        r = distill("eval", f"openai:m@{s.url}", "--on", str(held), "--out", str(tmp_path / "e"),
                    env={"OPENAI_API_KEY": "sk-test"})
        assert r.returncode == 2 and "nothing to measure" in r.stderr, r.stderr
        bad = write(tmp_path / "bad.jsonl", json.dumps({"instruction": "hi", "constraints": [{"type": "sonnet"}]})
                    + "\n")
        r = distill("eval", f"openai:m@{s.url}", "--on", str(bad), "--out", str(tmp_path / "e"),
                    env={"OPENAI_API_KEY": "sk-test"})
        assert r.returncode == 2 and "row 1" in r.stderr and "Traceback" not in r.stderr, r.stderr
        r = distill("eval", str(tmp_path / "nowhere"), "--on", str(held), "--verifier", "exact",
                    "--out", str(tmp_path / "e"))
        assert r.returncode == 2 and "no such model" in r.stderr, r.stderr
        r = distill("eval", f"openai:m@{s.url}", "--on", str(held), "--judge", f"openai:m@{s.url}",
                    "--out", str(tmp_path / "e"))
        assert r.returncode == 2 and "--baseline" in r.stderr, r.stderr
        assert s.stats()["answered"] == 0
