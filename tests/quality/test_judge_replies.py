"""Judge replies cannot crash or brick a run: deep nesting, 5,000-digit numbers, booleans, NaN and huge replies
are read as a score or rejected (`judge_unparseable` with the raw reply), and replaying the cached reply on a
re-run rejects it again. Records with NUL / bidi control characters or a runaway reply are never accepted."""

from __future__ import annotations

import json

import pytest
from helpers import distill, read_jsonl, write

from distill.quality.replies import (
    MAX_REPLY_CHARS,
    Unparseable,
    as_score,
    find_json_object,
    parse_score,
    parse_winner,
)
from distill.quality.reward import parse_reward_text
from distill.run.records import MAX_TEXT_CHARS, acceptance_problem, make_record

DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
DEEP_SCORE = '{"score": 7, "x": ' + "[" * 5000 + "]" * 5000 + "}"
BIG_SCORE = '{"score": ' + "9" * 5000 + "}"
POISON = [DEEP_OBJECT, DEEP_SCORE, BIG_SCORE, '{"score": true}', '{"score": NaN}', '{"score": "7" ',
          "{" * 50_000, "[" * 20_000 + " " * 20_000, "Score: " + "9" * 5000, "x" * (MAX_REPLY_CHARS + 1),
          '{"winner": ' + "[" * 5000, '{"a": "' + "\\" * 30_001]


@pytest.mark.parametrize("reply", POISON, ids=range(len(POISON)))
def test_poison_replies_are_unparseable_not_crashes(reply):
    obj = find_json_object(reply)
    assert obj is None or isinstance(obj, dict)
    with pytest.raises(Unparseable):
        parse_score(reply, (1, 10))
    with pytest.raises(Unparseable):
        parse_winner(reply)
    with pytest.raises(ValueError):
        parse_reward_text(reply)


def test_readable_replies_still_read():
    assert parse_score('Some thoughts {not json}.\n```json\n{"rationale": "ok {x}", "score": 7}\n```', (1, 10)) \
        == (7.0, "ok {x}")
    assert parse_score("Clear.\nScore: 8.", (1, 10)) == (8.0, "Clear.")
    assert parse_score("[[6]]", (1, 10))[0] == 6.0 and parse_score("[RESULT] 4", (1, 5))[0] == 4.0
    assert parse_score('{"score": "9"}', (1, 10))[0] == 9.0
    assert parse_winner('He said "{" then {"rationale": "r", "winner": "B"}') == ("B", "r")
    assert parse_winner("[[A]]")[0] == "A"
    assert find_json_object('{"a": "}"}') == {"a": "}"}
    assert parse_reward_text("helpfulness:3.1,correctness:3.3") == {"helpfulness": 3.1, "correctness": 3.3}


def test_booleans_and_non_finite_numbers_are_not_scores():
    assert as_score(True) is None and as_score(False) is None and as_score(float("nan")) is None
    assert as_score(float("inf")) is None and as_score(10**40) is None and as_score([7]) is None
    with pytest.raises(Unparseable, match="not a number"):
        parse_score('{"score": true}', (0, 1))
    with pytest.raises(ValueError):
        parse_reward_text("nan")


def test_the_shared_acceptance_check():
    ok = make_record(instruction="Say hi", output="Hi!\tThere.\r\n", meta={})
    assert acceptance_problem(ok) is None
    for bad in ("a\x00b", "x\u202ey", "\x1b[31mred\x1b[0m", "w\u2066v"):
        assert acceptance_problem(make_record(instruction="Say hi", output=bad, meta={})) == "control_characters"
        assert acceptance_problem(make_record(instruction=bad, output="fine", meta={})) == "control_characters"
    huge = make_record(instruction="Say hi", output="A" * (MAX_TEXT_CHARS + 1), meta={})
    assert acceptance_problem(huge) == "reply_too_large"


RULES = [
    {"match": r"# Response to grade\n+.*?\[deep\]", "reply": DEEP_OBJECT},
    {"match": r"# Response to grade\n+.*?\[deepscore\]", "reply": DEEP_SCORE},
    {"match": r"# Response to grade\n+.*?\[big\]", "reply": BIG_SCORE},
    {"match": r"# Response to grade\n+.*?\[bool\]", "reply": '{"rationale": "r", "score": true}'},
    {"match": r"# Response to grade", "reply": '{"rationale": "fine", "score": 8}'},
    {"match": r"\[nul\]", "reply": "An answer with a NUL \x00 byte in it."},
    {"match": r"\[bidi\]", "reply": "An answer that flips \u202e its display order."},
    {"match": r"\[ansi\]", "reply": "An answer that paints \x1b[31mthe terminal\x1b[0m red."},
    {"match": r"\[huge\]", "reply": "A" * (MAX_TEXT_CHARS + 10)},
]


def test_a_poison_judge_reply_is_a_rejection_and_the_rerun_replays_it(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    markers = ["deep", "deepscore", "big", "bool", "ok", "nul", "bidi", "ansi", "huge"]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question [{m}]"}) + "\n"
                                               for m in markers))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {teacher_server.url}}}
judge: {{provider: openai, model: judge-m, base_url: {teacher_server.url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
quality: {{rubric: overall}}
""")
    for _attempt in range(2):  # the re-run answers every call from the cache and must not crash either
        res = distill("run", str(cfg), "--no-progress", timeout=120)
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        out = tmp_path / "run"
        assert [r["instruction"] for r in read_jsonl(out / "data.jsonl")] == ["Question [ok]"]
        rejected = {r["item"].get("instruction"): r for r in read_jsonl(out / "rejected.jsonl")}
        for m in ("deep", "deepscore", "big", "bool"):
            assert rejected[f"Question [{m}]"]["reason"] == "judge_unparseable"
        assert rejected["Question [deep]"]["raw"] == DEEP_OBJECT  # the raw reply is kept
        assert "not a number" in rejected["Question [bool]"]["detail"]
        for m in ("nul", "bidi", "ansi"):
            assert rejected[f"Question [{m}]"]["reason"] == "control_characters"
        assert rejected["Question [huge]"]["reason"] == "reply_too_large"
    judged = [b for b in teacher_server.bodies() if b["model"] == "judge-m"]
    assert len(judged) == 5  # records failing the shared checks are not sent to the judge


PAIR_RULES = [
    {"match": r"# Response A\n+Sample \w+x0", "reply": '{"rationale": "first is better", "winner": "A"}'},
    {"match": r"# Response B\n+Sample \w+x0", "reply": '{"rationale": "second is better", "winner": "B"}'},
    {"match": r"\[nul\]", "reply": "Sample {h} carries a NUL \x00 byte."},
    {"match": r"\[plain\]", "reply": "Sample {h} is plain text."},
]


def test_preference_pairs_pass_the_shared_check_too(tmp_path, teacher_server):
    teacher_server.configure(rules=PAIR_RULES)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question [{m}]"}) + "\n"
                                               for m in ("plain", "nul")))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {teacher_server.url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
quality: {{pairwise: true}}
options: {{samples: 2}}
""")
    res = distill("run", str(cfg), "--no-progress", timeout=120)
    assert res.returncode == 0, res.stderr
    pairs = read_jsonl(tmp_path / "run" / "pairs.jsonl")
    assert [p["prompt"][-1]["content"] for p in pairs] == ["Question [plain]"]
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert {(r["stage"], r["reason"]) for r in rejected} == {("respond", "control_characters"),
                                                             ("pairwise", "control_characters")}
    assert acceptance_problem(pairs[0]) is None
