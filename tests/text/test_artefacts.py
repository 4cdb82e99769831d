"""The accept-time artefact check (distill/text/artefacts.py) through `acceptance_problem`, the function every
accepted record and pair of every recipe goes through: each of issue #35's bad records (tests/artefact_replies.yaml)
is refused with its reason, while every text the reply-style corpus parses to passes, in either field; and through
the real CLI, a respond run writes those rejections and keeps the user's own labelled instructions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.run.records import acceptance_problem, make_record
from distill.text.artefacts import artefact_problem, unclosed_fence, user_texts
from tests.fake_teacher import FakeTeacher
from tests.helpers import distill, read_jsonl, recipe_yaml, write

TESTS = Path(__file__).parents[1]
BAD = yaml.safe_load((TESTS / "artefact_replies.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_each_bad_record_of_issue_35_is_refused_with_its_reason(case: dict[str, Any]) -> None:
    record = make_record(instruction=case["instruction"], input=case.get("input", ""), output=case["output"],
                         meta={"recipe": "any"})
    assert acceptance_problem(record) == case["reason"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted((TESTS / "reply_styles").glob("*.yaml")):
        texts += _strings(yaml.safe_load(path.read_text(encoding="utf-8"))["expected"])
    return sorted({t for t in texts if t.strip()})


def test_every_text_the_reply_style_corpus_parses_to_is_accepted_as_instruction_and_as_output() -> None:
    texts = _corpus_texts()
    assert len(texts) > 30
    for text in texts:
        record = make_record(instruction=text, output="A short, fitting reply.", meta={})
        assert acceptance_problem(record) is None, text
        assert acceptance_problem(make_record(instruction="Do the task.", output=text, meta={})) is None, text


def test_ordinary_records_that_look_close_pass() -> None:
    ok = [
        ("Summarize:", "Cats sleep up to sixteen hours a day.", "Cats sleep most of the day."),  # colon + input
        ("Explain the ratio A:B in the recipe.", "", "A:B is 2:1, so use twice as much flour."),
        ("Write a function that adds two numbers.", "", "```python\ndef add(a, b):\n    return a + b\n```"),
        ("Show inline fences.", "", "Use ```code``` for inline code, or indent it."),
        ("Correct the spelling.", "Teh cat sat.", "The cat sat."),
        ("Answer in one word: what colour is the sky?", "", "Blue."),
        ("What is the context window of a model?", "", "Context: the tokens a model reads at once."[9:]),
    ]
    for instruction, input, output in ok:
        assert acceptance_problem(make_record(instruction=instruction, input=input, output=output, meta={})) is None


def test_a_users_own_labels_are_not_artefacts_but_a_copy_of_them_is() -> None:
    class Row:
        instruction, input = "Question 0: what is 0 plus 1?", ""

    given = user_texts(Row())
    record = make_record(instruction=Row.instruction, output="It is 1.", meta={})
    assert artefact_problem(record) == "leftover_label" and artefact_problem(record, given) is None
    copy = make_record(instruction=Row.instruction, output=Row.instruction, meta={})
    assert artefact_problem(copy, given) == "copies_input"


def test_a_fence_closes_only_with_its_own_marker() -> None:
    assert unclosed_fence("````md\n```python\nx\n```\n")  # the inner fence does not close the outer one
    assert not unclosed_fence("````md\n```python\nx\n```\n````")
    assert unclosed_fence("~~~\ncode\n```")


def test_a_chat_turn_that_repeats_the_user_turn_is_refused_in_pairs_and_conversations() -> None:
    prompt = [{"role": "user", "content": "Name a colour."}]
    pair = {"prompt": prompt, "chosen": prompt + [{"role": "assistant", "content": "Blue."}],
            "rejected": prompt + [{"role": "assistant", "content": "name a colour"}]}
    assert acceptance_problem(pair) == "copies_input"
    talk = make_record(instruction="Name a colour.", output="Blue.", meta={})
    talk["messages"] += [{"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Another?"}]
    assert acceptance_problem(talk) == "copies_input"


def test_a_respond_run_rejects_artefacts_with_their_reasons_and_keeps_labelled_user_instructions(tmp_path):
    rows = [{"instruction": "Rewrite the sentence in the passive voice.",
             "input": "The committee approved the new budget on Monday."},
            {"instruction": "What is the capital of France?"},
            {"instruction": "Question 3: what is 2 plus 2?"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    rules = [{"match": "passive voice", "reply": "The committee approved the new budget on Monday."},
             {"match": "capital of France", "reply": "A: The capital of France is Paris."},
             {"match": "2 plus 2", "reply": "2 plus 2 is 4."}]
    with FakeTeacher(rules=rules) as teacher:
        out = tmp_path / "out"
        r = distill("run", str(recipe_yaml(tmp_path / "r.yaml", teacher.url, inp, out)), "--no-progress")
    assert r.returncode == 0, r.stderr
    rejected = {row["item"]["instruction"]: row["reason"] for row in read_jsonl(out / "rejected.jsonl")}
    assert rejected == {rows[0]["instruction"]: "copies_input", rows[1]["instruction"]: "leftover_label"}
    assert [rec["output"] for rec in read_jsonl(out / "data.jsonl")] == ["2 plus 2 is 4."]
    stages = json.loads((out / "manifest.json").read_text())["stages"]["respond"]
    assert stages["rejected"] == {"copies_input": 1, "leftover_label": 1}
