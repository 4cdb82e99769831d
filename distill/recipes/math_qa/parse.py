"""Reading math_qa's replies: a new problem written from a seed, and the final answer of a sampled solution. Each
reader returns the value or raises `Rejected` with the reason the choice is dropped (run/stage.py)."""

from __future__ import annotations

from distill.recipes.shared.rewrite_parse import parse_rewrite
from distill.run.stage import Rejected
from distill.text.math_answers import final_answers, is_math_answer, normalize


def new_problem(text: str) -> str:
    """The problem an augmentation reply wrote."""
    problem = parse_rewrite(text)
    if not problem:
        raise Rejected("empty_problem")
    return problem


def solution_answer(text: str) -> str:
    """A solution's one final answer: its `\\boxed{}` answers (else a GSM8K-style `#### 72` line), which must
    all be the same."""
    boxed = final_answers(text)
    if not boxed:
        raise Rejected("no_boxed_answer")
    if len({normalize(b) for b in boxed}) > 1:
        raise Rejected("multiple_boxed_answers")
    return boxed[-1]


def voted_answer(text: str) -> str:
    """`solution_answer` for a problem without a ground truth, whose answers vote: code, markup and the like
    never count as votes."""
    answer = solution_answer(text)
    if not is_math_answer(answer):
        raise Rejected("not_a_math_answer")
    return answer
