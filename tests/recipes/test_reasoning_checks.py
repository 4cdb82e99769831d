"""The reasoning recipe's trace checks and selection, on hand-made traces: each failure mode is caught with its
reason, good traces (long, numeric, LaTeX, Greek, another language asked in that language) pass, and every regex
the checks run stays linear on adversarial input."""

from __future__ import annotations

import time

import pytest
from regex_probe import adversarial

from distill.recipes.reasoning import checks
from distill.recipes.reasoning.checks import Limits, Trace, rejection
from distill.recipes.reasoning.selection import Buckets, Candidate, at_least, bucket, difficulty, select

QUESTION = "A shop sells pencils in packs of 6. Lena needs 40 pencils. How many packs must she buy?"
THINKING = ("Lena needs 40 pencils and each pack holds 6. 6 x 6 = 36 is not enough, 6 x 7 = 42 covers 40, so "
            "she needs 7 packs; 6 packs leave her 4 pencils short.")
GOOD = Trace(THINKING, "She must buy **7 packs** (\\boxed{7}).", "stop")


def _reason(trace: Trace, question: str = QUESTION, **limits: object) -> str | None:
    found = rejection(trace, question, Limits(**limits))  # type: ignore[arg-type]
    return found[0] if found else None


def test_a_good_trace_passes():
    assert rejection(GOOD, QUESTION, Limits()) is None


@pytest.mark.parametrize("trace,reason", [
    (Trace("Lena needs 40 pencils and each pack holds 6, so 6 x 6 = 36 and then", "", "length"), "truncated"),
    (Trace(THINKING, "She must buy 7 packs.", "length"), "truncated"),  # cut in the answer: it may be incomplete
    (Trace(THINKING, "", "stop"), "no_final_answer"),
    (Trace(THINKING, "  **  \n", "stop"), "no_final_answer"),  # markup only
    (Trace("", "7", "stop"), "empty_reasoning"),
    (Trace("Seven.", "7", "stop"), "empty_reasoning"),
    (Trace("She must buy 7 packs.", "She must buy 7 packs.", "stop"), "empty_reasoning"),
    (Trace(QUESTION, "7", "stop"), "empty_reasoning"),
])
def test_each_failure_mode_is_named(trace, reason):
    assert _reason(trace) == reason


def test_empty_reasoning_says_why():
    assert checks.empty_reasoning(Trace("", "7"), QUESTION) == "empty"
    assert checks.empty_reasoning(Trace("Seven packs", "7"), QUESTION) == "too_few_words"
    assert checks.empty_reasoning(Trace("She must buy 7 packs", "So: she must buy 7 packs."), QUESTION) == (
        "copies_answer")
    assert checks.empty_reasoning(Trace(QUESTION.upper(), "7"), QUESTION) == "copies_question"
    chinese = Trace("先算六乘七等于四十二", "7")  # one "word" by spaces, ten by characters
    assert checks.empty_reasoning(chinese, "一包六支，要四十支，买几包？") is None


def test_too_long_only_with_a_budget():
    long = Trace(" ".join(f"Step {i}: {i} times 6 is {6 * i}." for i in range(200)), "7", "stop")
    assert long.tokens > 1000
    assert _reason(long) is None
    assert _reason(long, max_trace_tokens=1000) == "too_long"
    assert _reason(long, max_trace_tokens=long.tokens) is None


def test_repetition_loops_are_caught_and_varied_steps_are_not():
    sentence = "Wait, let me recount the pencils in each pack once more. "
    assert checks.repetition_loop(THINKING + " " + sentence * 6)
    assert not checks.repetition_loop(THINKING + " " + sentence * 2)  # re-checking twice is thinking
    assert checks.repetition_loop("no " * 100)
    assert checks.repetition_loop("我们再算一次。" * 40)  # a loop in Chinese: no spaces
    steps = " ".join(f"Step {i}: {i} times 6 is {6 * i}, which is {'less' if 6 * i < 40 else 'more'} than 40."
                     for i in range(1, 60))
    assert not checks.repetition_loop(steps)
    table = "| a | b |\n|-------------------------------|-------------------------------|\n| 1 | 2 |"
    assert not checks.repetition_loop(table)  # a long rule of dashes is one token
    assert _reason(Trace(THINKING + " " + sentence * 8, "7", "stop")) == "repetition_loop"


def test_language_mixing_against_the_questions_writing_system():
    mixed = THINKING + " 然后我们再检查一下，四十除以六大约是六点七，所以要七包。"
    assert checks.language_mix(mixed, QUESTION)
    assert _reason(Trace(mixed, "7", "stop")) == "language_mix"
    assert checks.language_mix(THINKING + " Затем проверим ещё раз деление сорока на шесть пачек", QUESTION)
    # one foreign word in a long trace, LaTeX, Greek letters and one-letter variables are not mixing
    assert not checks.language_mix(THINKING + " The Chinese word 包 means pack.", QUESTION)
    latex = "设 \\alpha = \\frac{40}{6}，x = \\lceil \\alpha \\rceil，π 与 θ 不变，所以 x = 7。"
    assert not checks.language_mix(latex, "一包六支，要四十支，买几包？")
    # a question asked in Chinese (or Japanese, with Han) is answered in it
    assert not checks.language_mix("先算六乘七等于四十二，大于四十，所以七包。", "一包六支，要四十支，买几包？")
    assert not checks.language_mix("六かける七は四十二です。", "鉛筆は一箱六本です。四十本には何箱必要ですか？")
    # a bare formula as the question: the trace's own main writing system is the one expected
    assert not checks.language_mix("Compute the sum carefully first", "2^30 ? 10^9")
    assert checks.language_mix("Compute the sum first. 然后比较两个数的大小", "2^30 ? 10^9")


def test_the_threshold_is_an_option():
    text = "one two three four five six seven eight nine 十"  # 1 of 10 words foreign
    assert checks.language_mix(text, "one two", max_share=0.05)
    assert not checks.language_mix(text, "one two", max_share=0.2)


def test_selection_modes():
    cands = [Candidate(0, 300, True), Candidate(2, 120, False), Candidate(3, 200, None), Candidate(5, 150, True)]
    assert select(cands, "all") == [0, 2, 3, 5]
    assert select(cands, "shortest_correct") == [5]  # 2 is shorter but wrong
    assert select(cands, "k", 2) == [0, 3]
    assert select([Candidate(1, 9, None), Candidate(0, 9, None)], "shortest_correct") == [0]  # tie: sample order
    assert select([Candidate(1, 9, False)], "shortest_correct") == []
    assert select([], "k", 3) == []


def test_difficulty_figures():
    assert difficulty(4, 3, 1, [100, 200, 300, 400]) == {"samples": 4, "passed_checks": 3, "share_correct": 0.25,
                                                         "mean_trace_tokens": 250.0, "judge_rating": None,
                                                         "bucket": "hard", "basis": "share_correct"}
    empty = difficulty(2, 0, None, [])
    assert empty["share_correct"] is None and (empty["bucket"], empty["basis"]) == (None, None)


def test_difficulty_buckets():
    limits = Buckets(easy_trace_tokens=256, hard_trace_tokens=1024)
    # the share correct first: more than two thirds right is easy, a third or less hard
    assert [bucket(s, 9, 5000, limits)[0] for s in (1.0, 0.75, 0.5, 0.34, 1 / 3, 0.0)] == [
        "easy", "easy", "medium", "medium", "hard", "hard"]
    # then the judge's rating, then the mean trace length
    assert [bucket(None, r, 5000, limits) for r in (1, 3, 4, 6, 7, 10)] == [
        ("easy", "judge_rating")] * 2 + [("medium", "judge_rating")] * 2 + [("hard", "judge_rating")] * 2
    assert [bucket(None, None, t, limits)[0] for t in (10, 255, 256, 1023, 1024)] == [
        "easy", "easy", "medium", "medium", "hard"]
    assert bucket(None, None, None, limits) == (None, None)
    assert at_least("hard", "hard") and at_least("hard", "medium") and not at_least("medium", "hard")
    assert at_least("easy", None) and at_least(None, None) and not at_least(None, "easy")


PATTERNS = [checks._TOKEN, checks._SCRIPT_WORD, checks._WORD_CHAR, checks._IDEOGRAPH]


def _best_cpu(run, text: str, tries: int = 3) -> float:
    best = float("inf")
    for _ in range(tries):
        start = time.process_time()
        run(text)
        best = min(best, time.process_time() - start)
    return max(best, 0.005)  # shorter is noise


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:30])
def test_the_checks_regexes_are_linear(pattern):
    """8x the input may cost at most 24x the time (linear is 8x, quadratic 64x); best of three runs, so a busy
    machine's pauses do not count."""
    for name, make in adversarial(pattern).items():
        small, large = _best_cpu(pattern.findall, make(8000)), _best_cpu(pattern.findall, make(64000))
        assert large / small < 24, name


def test_checks_grow_linearly_with_the_trace():
    """The loop check keeps one count per distinct run of tokens: 4x the trace costs about 4x the time."""
    def cost(n: int) -> float:
        trace = Trace(" ".join(f"w{i}" for i in range(n)), "7", "stop")
        assert rejection(trace, QUESTION, Limits()) is None
        return _best_cpu(lambda t: rejection(t, QUESTION, Limits()), trace)

    assert cost(20_000) / cost(5_000) < 10
