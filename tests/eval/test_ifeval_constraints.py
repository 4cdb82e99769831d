"""Each IFEval-style constraint on a hand-made answer that meets it and one that does not, and the two rates
(answers meeting all their constraints, constraints met) with their intervals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from distill.eval.ifeval import check_all, parse_constraints
from distill.eval.instructions import if_rates

CASES = [  # constraint, an answer that meets it, one that does not
    ({"type": "words", "min": 5}, "one two three four five", "one two three four"),
    ({"type": "words", "max": 3}, "one two three", "one two three four"),
    ({"type": "words", "min": 2, "max": 3}, "one two", "one"),
    ({"type": "bullets", "count": 2}, "Intro:\n* first\n- second\nend", "* only one\nplain line"),
    ({"type": "keywords", "words": ["Lighthouse", "fog"]}, "The lighthouse shone through the fog.",
     "The lighthouses shone through the mist."),
    ({"type": "forbidden", "words": ["very"]}, "A quite good day.", "A Very good day."),
    ({"type": "no_commas"}, "Bread and butter.", "Bread, butter."),
    ({"type": "lowercase"}, "all quiet on the sea.", "All quiet on the sea."),
    ({"type": "uppercase"}, "ALL QUIET.", "ALL QUIEt."),
    ({"type": "json"}, '```json\n{"a": [1, 2]}\n```', '{"a": [1, 2]} and more'),
    ({"type": "json"}, '  [1, "two"]  ', "Here is the JSON: {}"),
    ({"type": "paragraphs", "count": 2}, "First part.\n\nSecond part.", "First part.\nStill first."),
    ({"type": "ends_with", "phrase": "Is there anything else?"}, "Done. Is there anything else?  \n",
     "Is there anything else? Done."),
    ({"type": "starts_with", "phrase": "Dear reader"}, "Dear reader, hello.", "Hello, dear reader."),
    ({"type": "title"}, "<<A Poem>>\nRoses.", "A Poem\nRoses."),
]


@pytest.mark.parametrize(("constraint", "good", "bad"), CASES, ids=[f"{c['type']}-{i}" for i, (c, _, _) in
                                                                      enumerate(CASES)])
def test_each_constraint_passes_a_good_answer_and_fails_a_bad_one(constraint, good, bad):
    parsed = parse_constraints([constraint])
    assert check_all(good, parsed) == [True]
    assert check_all(bad, parsed) == [False]


@pytest.mark.parametrize("bad", [[{"type": "words"}], [{"type": "sonnet"}], [{"type": "bullets"}],
                                 [{"type": "keywords", "words": []}], "lowercase"])
def test_a_malformed_constraint_is_refused(bad):
    with pytest.raises(ValidationError):
        parse_constraints(bad)


def test_prompt_and_constraint_rates_count_what_was_met():
    rows = [parse_constraints([{"type": "lowercase"}, {"type": "no_commas"}]),
            parse_constraints([{"type": "words", "max": 2}]),
            parse_constraints([{"type": "title"}]),
            []]  # a question without constraints is not counted
    replies = [("all good, mostly", False), ("two words", False), None, ("Anything", False)]
    r = if_rates(rows, replies)
    assert (r["prompts"], r["prompts_followed"], r["constraints"], r["constraints_met"]) == (2, 1, 3, 2)
    assert r["prompt_rate"] == 0.5 and r["constraint_rate"] == 0.6667 and r["failed_calls"] == 1
    assert r["prompt_ci95"][0] < 0.5 < r["prompt_ci95"][1]
    assert r["by_kind"] == {"lowercase": {"met": 1, "total": 1}, "no_commas": {"met": 0, "total": 1},
                            "words": {"met": 1, "total": 1}}


def test_the_shipped_held_out_instructions_parse_and_name_their_constraints():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "recipes" / "data" / "instructions_heldout.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 20
    kinds = {c.type for row in rows for c in parse_constraints(row["constraints"])}
    assert kinds == {"words", "bullets", "keywords", "forbidden", "no_commas", "lowercase", "uppercase", "json",
                     "paragraphs", "ends_with", "starts_with", "title"}
