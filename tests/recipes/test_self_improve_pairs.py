"""Self-improvement's data rules on scripted samples: each mode's SFT answers and preference pair, the rubric
score reader on judge replies written the way small models write them, the verifiers and the Wilson interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.recipes.self_improve_pairs import Sample, rubric_score, self_reward, spin, verified
from distill.recipes.self_improve_verify import Verifier, VerifierOptions, math_answer, wilson


def test_self_reward_pairs_best_against_worst_with_the_margin_and_keeps_the_best_for_sft():
    samples = [Sample(0, "meh", score=2.0), Sample(1, "great", score=4.5), Sample(2, "bad", score=1.0),
               Sample(3, "also great", score=4.5)]
    built = self_reward(samples, min_score=4.0)
    assert (built.chosen, built.rejected) == ("great", "bad")  # the first of the tied best
    assert built.meta["margin"] == 3.5 and built.meta["chosen_score"] == 4.5
    assert [s.text for s in built.sft] == ["great"]


def test_self_reward_drops_equal_scores_and_ignores_unread_judgements():
    built = self_reward([Sample(0, "a", score=3.0), Sample(1, "b", score=None), Sample(2, "c", score=3.0)], 4.0)
    assert built.chosen is None and built.no_pair == "equal_scores" and built.sft == []
    assert self_reward([Sample(0, "a"), Sample(1, "b")], 4.0).no_pair == "unscored"
    lone = self_reward([Sample(0, "a", score=5.0), Sample(1, "b")], 4.0)
    assert lone.no_pair == "one_scored_sample" and [s.text for s in lone.sft] == ["a"]


def test_verified_keeps_distinct_correct_answers_and_pairs_correct_with_incorrect():
    samples = [Sample(0, "wrong", correct=False), Sample(1, "right", correct=True), Sample(2, " right ", correct=True),
               Sample(3, "right too", correct=True), Sample(4, "other", correct=True)]
    built = verified(samples, keep=2)
    assert [s.index for s in built.sft] == [1, 3]  # the duplicate is dropped, then capped at keep
    assert (built.chosen, built.rejected) == ("right", "wrong") and built.meta["correct"] == 4
    assert verified([Sample(0, "x", correct=False)], 4).no_pair == "no_correct_sample"
    all_right = verified([Sample(0, "x", correct=True), Sample(1, "y", correct=True)], 4)
    assert all_right.no_pair == "no_incorrect_sample" and len(all_right.sft) == 2


def test_spin_rejects_the_students_own_answer_against_the_reference():
    built = spin("The answer is 7.", [Sample(0, "I think 8."), Sample(1, "The answer is 7.")])
    assert (built.chosen, built.rejected) == ("The answer is 7.", "I think 8.")
    assert [s.text for s in built.sft] == ["The answer is 7."]
    same = spin("The answer is 7.", [Sample(0, "the answer  is 7.")])
    assert same.chosen is None and same.no_pair == "same_as_reference"
    assert spin("x", []).no_pair == "no_sample"


@pytest.mark.parametrize(("reply", "score"), [
    ("The answer is relevant (1) and complete (2).\n\nScore: 4", 4.0),
    ("**Score:** 3 points", 3.0),
    ("I would give it 2/5 because it is vague.", 2.0),
    ("Points: relevant, addresses part... Total score is 5 out of 5", 5.0),
    ("<think>maybe Score: 1</think> Final Score: 2", 2.0),  # the last one counts
    ("Score: 9", None),  # off the scale
    ("This answer is great!", None),
    ("", None),
])
def test_rubric_score_reads_what_small_judges_write(reply, score):
    assert rubric_score(reply) == score


def test_math_verifier_reads_boxed_said_and_last_numbers_and_never_evaluates(tmp_path: Path):
    assert math_answer("5 + 3 = 8, so \\boxed{8}.") == "8"
    assert math_answer("First 12 - 4 = 8. The answer is 1,204.") == "1204"
    assert math_answer("She has 3 + 4 = 7 apples left.") == "7"
    assert math_answer("no digits here") is None
    v = Verifier(VerifierOptions(kind="math"), tmp_path)
    assert v.check("So the total is 4 * 5 = 20.\nThe answer is 20.", "20", {})
    assert not v.check("The answer is 21.", "20", {})
    assert not v.check("__import__('os').system('true')", "0", {})
    assert not v.check("The answer is 20.", None, {})


def test_exact_regex_and_function_verifiers(tmp_path: Path):
    assert Verifier(VerifierOptions(kind="exact"), tmp_path).check("  Paris. ", "paris", {})
    regex = Verifier(VerifierOptions(kind="regex", pattern=r"ANSWER: {reference}\b"), tmp_path)
    assert regex.check("... ANSWER: 3.5", "3.5", {}) and not regex.check("ANSWER: 345", "3.5", {})
    (tmp_path / "mine.py").write_text("def ok(answer, reference, row):\n    return answer.endswith(row['suffix'])\n")
    fn = Verifier(VerifierOptions(kind="function", function="mine.py:ok"), tmp_path)
    assert fn.check("hello!", None, {"suffix": "!"}) and not fn.check("hello", None, {"suffix": "!"})
    with pytest.raises(ValueError, match="pattern"):
        VerifierOptions(kind="regex")
    with pytest.raises(ValueError, match="regular expression"):
        VerifierOptions(kind="regex", pattern="(")


def test_wilson_interval():
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    low, high = wilson(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-3)
    assert wilson(20, 20)[1] == 1.0
