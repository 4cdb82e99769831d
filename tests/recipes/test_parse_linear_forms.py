"""The forms the regexes made linear in issue 29 still read (their linearity: tests/text/test_regex_linearity.py)."""

from __future__ import annotations

from distill.recipes.alpaca.parse import AlpacaItem, is_no_input, parse_alpaca
from distill.recipes.knowledge_qa.parse import quotes_chunk
from distill.recipes.personas.recipe import clean_task
from distill.recipes.self_improve_pairs import rubric_score
from distill.recipes.self_improve_verify import math_answer
from distill.recipes.shared.rewrite_parse import parse_rewrite

CHUNK = "The river Loire is the longest river in France and flows into the Atlantic Ocean near Saint-Nazaire."


def test_rubric_scores_in_judge_forms() -> None:
    for reply, score in (("Score: 4", 4.0), ("score of 3", 3.0), ("**Score:** 3 points", 3.0), ("Score: **5**", 5.0),
                         ("Score = 2.5/5", 2.5), ("The score is 1 out of 5.", 1.0), ("I give it 4/5.", 4.0),
                         ("Score:\n\n** 2", 2.0), ("score: none given", None)):
        assert rubric_score(reply) == score, reply


def test_answer_is_forms() -> None:
    for text, answer in (("So the answer is 42.", "42"), ("Answer: **7**", "7"), ("The answer is $1,200", "1200"),
                         ("answer = -3/4", "-3/4"), ("answer:  ** $ 5", "5"), ("answer: x, then 9", "9")):
        assert math_answer(text) == answer, text


def test_persona_task_labels_are_dropped() -> None:
    for text in ("**Problem:** A train leaves at 9.", "Math problem: A train leaves at 9.",
                 "** Problem **: A train leaves at 9.", "Problem: ** A train leaves at 9."):
        assert clean_task(text) == "A train leaves at 9.", text
    assert clean_task("Problems arise when: a train leaves") == "Problems arise when: a train leaves"


def test_no_input_forms() -> None:
    for value in ("<noinput>", "<no input>", "< no - input >", "No input.", "None", "N/A", "n/a.", " <NoInput> "):
        assert is_no_input(value), value
    for value in ("none of the above", "7, 2, 9", "no", "< no" + " " * 40000 + "x"):
        assert not is_no_input(value), value
    reply = "Name a colour.\n4. Input: No input.\n4. Output: Blue."
    assert parse_alpaca(reply, 4) == [AlpacaItem("Name a colour.", "", "Blue.")]


def test_quotes_are_found_in_every_form() -> None:
    assert quotes_chunk('As stated, "the longest river in France" is the Loire.', CHUNK)
    assert quotes_chunk("It says “flows into the Atlantic Ocean” there.", CHUNK)
    assert quotes_chunk("##begin_quote##flows into the Atlantic Ocean##end_quote##", CHUNK)
    assert quotes_chunk("“ unclosed “flows into the Atlantic Ocean”", CHUNK)  # the inner, closed quote counts
    assert not quotes_chunk("“" * 20000 + "the longest river", CHUNK)


def test_a_second_numbered_item_keeps_the_enumerator() -> None:
    assert parse_rewrite("1. Solve for x.\n  2. Check the answer.") == "1. Solve for x.\n  2. Check the answer."
    assert parse_rewrite("1. Solve for x: 2x = 4.") == "Solve for x: 2x = 4."
