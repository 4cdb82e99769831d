"""How self_improve's win-rate evaluation reads a pairwise judge's reply: with the quality gate's parser, so a
judge that answers in JSON, with [[X]], in markdown or chattily is read, and a reply that names no winner (or is
too large to read) leaves the pair unjudged instead of guessing."""

from __future__ import annotations

import pytest

from distill.eval.win_rate import winner


@pytest.mark.parametrize(("reply", "expected"), [
    ("A is shorter; B shows the steps.\nWinner: B", "b"),
    ('{"rationale": "B shows the steps", "winner": "B"}', "b"),
    ('Here is my verdict:\n```json\n{"rationale": "same", "winner": "tie"}\n```\nHappy to elaborate.', "tie"),
    ("**Winner:** A", "a"),
    ("[[A]]", "a"),
])
def test_a_judge_reply_in_any_common_form_names_its_winner(reply, expected):
    assert winner(reply) == expected


@pytest.mark.parametrize("reply", [
    "Both answers have merits and I cannot decide.",
    '{"rationale": "r", "winner": "the first one"}',
    "[" * 200_000 + "Winner: A",
], ids=["undecided", "not_a_side", "oversized_hostile"])
def test_a_reply_naming_no_winner_leaves_the_pair_unjudged(reply):
    assert winner(reply) is None
