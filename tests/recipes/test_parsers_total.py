"""Every parser and judge-reply reader is total: fed arbitrary text, deep nesting, huge numbers and long runs of
newlines (hypothesis), each returns a parse or its documented rejection within DEADLINE per input, never
another exception. Inputs reach ~300,000 characters, so a quadratic reader misses the deadline."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distill.providers.base import Choice, Completion
from distill.quality.replies import (
    Unparseable,
    UnreadableReply,
    find_json_object,
    parse_score,
    parse_winner,
)
from distill.quality.reward import parse_reward_text
from distill.recipes.alpaca import parse as alpaca_parse
from distill.recipes.evol_instruct import elimination as evol_elimination
from distill.recipes.knowledge_qa import parse as knowledge_parse
from distill.recipes.knowledge_qa import recipe as knowledge_qa
from distill.recipes.lab import judges as lab_judges
from distill.recipes.lab import parse as lab_parse
from distill.recipes.personas import recipe as personas
from distill.recipes.self_instruct import parse as si
from distill.recipes.shared import instruction_filters, numbered_list_parse, qa_pairs_parse, rewrite_parse
from distill.run import multi_turn
from distill.run.stage import Rejected
from distill.text import math_answers as ma
from distill.text import query_checks, reply_text

DEADLINE = timedelta(seconds=5)  # generous: linear readers take milliseconds on the largest inputs here

FRAGMENTS = [
    "{", "}", "[", "]", '"', "\\", ":", ",", '{"score": ', '"winner": "A"', "true", "NaN", "-", "9" * 60, "0.5",
    "\n", "\r\n", " ", "\t", "\\boxed{", "\\fbox{", "#### ", "\\frac{", "\\sqrt", "^", "10^", "(", ")", "!", "%",
    "Q1 [factual]:", "A1:", "Q2:", "A2:", "Question 1:", "1.", "2.", "9. ", "###", "Instruction:", "Input:",
    "Output:", "Example 1", "Class label:", "Context 1:", "Score:", "[[", "]]", "[RESULT]", "YES", "NO", "Equal",
    "Not Equal", "**", "<think>", "</think>", "```json", "```", "\x00", "\u202e", "\x1b[31m", "é", "\U0001f600",
    "__import__('os').system('id')", "sorry", "x", "=", '{"a":',
]
_fragment = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8))
_run = st.tuples(st.sampled_from(FRAGMENTS), st.integers(1, 5000)).map(lambda t: t[0] * t[1])
HOSTILE = st.one_of(st.text(), st.lists(st.one_of(_fragment, _run), max_size=10).map("".join))
SETTINGS = settings(deadline=DEADLINE, max_examples=60, database=None, derandomize=True,  # the same inputs every run
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


class _Judge:
    """Just enough of a Teacher for lab_judges: every call answers `text`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.supports_json_schema = False

    def params(self, **kw: Any) -> None:
        return None

    async def complete(self, messages: Any, params: Any) -> Completion:
        return Completion(choices=[Choice(text=self.text)])


def _lab(judge: Any, text: str) -> Any:
    j = _Judge(text)
    calls = {"question_ok": (j, "task", "q"), "pair_ok": (j, "task", "q", "a", "ctx"), "faithful": (j, "c", "a"),
             "relevant": (j, "q", "a"), "standalone": (j, "q")}
    return asyncio.run(getattr(lab_judges, judge)(*calls[judge]))


def _rejecting(fn: Any, *errors: type[BaseException]) -> Any:
    def call(text: str) -> Any:
        try:
            return fn(text)
        except errors:
            return "rejected"
    return call


READERS: dict[str, Any] = {
    "math.extract_boxed": ma.extract_boxed,
    "math.final_answers": ma.final_answers,
    "math.reference_answer": ma.reference_answer,
    "math.trim_after_boxed": ma.trim_after_boxed,
    "math.normalize": ma.normalize,
    "math.parse_answer": ma.parse_answer,
    "math.is_math_answer": ma.is_math_answer,
    "math.equivalent": lambda t: (ma.equivalent(t, "1"), ma.equivalent(t, t), ma.equivalent("x+1", t)),
    "math.equivalent_boxed": lambda t: [ma.equivalent(b, "\\frac{1}{2}") for b in ma.extract_boxed(t)[:5]],
    "replies.find_json_object": find_json_object,
    "replies.parse_score": _rejecting(lambda t: parse_score(t, (1, 10)), Unparseable),
    "replies.parse_winner": _rejecting(parse_winner, Unparseable),
    "reward.parse_reward_text": _rejecting(parse_reward_text, ValueError),
    "knowledge.parse_pairs": qa_pairs_parse.parse_pairs,
    "knowledge.CHECK.parse": _rejecting(knowledge_qa.CHECK.parse, Rejected),
    "knowledge.quotes_chunk": lambda t: knowledge_parse.quotes_chunk(t, t),
    "self_instruct.parse_numbered": lambda t: numbered_list_parse.parse_numbered(t, 9),
    "self_instruct.parse_input_first": si.parse_input_first,
    "self_instruct.parse_output_first": si.parse_output_first,
    "alpaca.parse_alpaca": lambda t: alpaca_parse.parse_alpaca(t, 4),
    "evol.parse_equality": evol_elimination.parse_equality,
    "evol.answer_rejection": evol_elimination.answer_rejection,
    "evol.copied_prompt_words": evol_elimination.copied_prompt_words,
    "filters.instruction_rejection": lambda t: instruction_filters.instruction_rejection(
        instruction_filters.clean_instruction(t) or "x"),
}
READERS.update({f"lab_judges.{name}": _rejecting(lambda t, name=name: _lab(name, t), UnreadableReply)
                for name in ("question_ok", "pair_ok", "faithful", "relevant", "standalone")})
READERS.update({
    "reply_text.clean_reply": reply_text.clean_reply, "reply_text.split_reasoning": reply_text.split_reasoning,
    "reply_text.normalize_newlines": reply_text.normalize_newlines,
    "reply_text.unwrap_fence": reply_text.unwrap_fence, "reply_text.strip_emphasis": reply_text.strip_emphasis,
    "reply_text.plain_labels": lambda t: reply_text.plain_labels(t, r"q|a|question|answer|input|output"),
    "lab.parse_contexts": lab_parse.parse_contexts, "lab.parse_questions": lab_parse.parse_questions,
    "evol.parse_rewrite": rewrite_parse.parse_rewrite, "personas.clean_task": personas.clean_task,
    "multi_turn.clean_followup": multi_turn.clean_followup,
    "magpie.query_rejection": lambda t: query_checks.query_rejection(
        t, min_words=3, max_words=400, language="en", max_repetition=0.5, drop_incomplete=True),
})

# Found by this file in other engineers' readers, reported to them; skipped while a probe (the case in a subprocess,
# 8 s cap) still times out, so the test runs for real once the reader is fixed. (personas.clean_task was: fixed.)
REPORTED: dict[tuple[str, str], str] = {}


def _still_slow(name: str, case: str) -> bool:
    code = (f"import sys; sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).parents[2])]!r}; "
            f"import test_parsers_total as t; t.READERS[{name!r}](t.CASES[{case!r}])")
    try:
        subprocess.run([sys.executable, "-c", code], timeout=8, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        return True
    return False


@pytest.mark.parametrize("name", sorted(READERS))
def test_reader_is_total_on_hostile_text(name):
    reader = READERS[name]

    @SETTINGS
    @given(HOSTILE)
    def total(text: str) -> None:
        reader(text)  # any exception other than the documented rejection fails; so does a slow return

    total()


CASES = {
    "deep_json": '{"score":' * 5000 + "1" + "}" * 5000, "deep_list": "[" * 5000 + "]" * 5000,
    "big_number": '{"score": ' + "9" * 5000 + "}", "deep_boxed": "\\boxed{" + "{" * 5000 + "1" + "}" * 5001,
    "newlines": "Q1 [factual]: What?" + "\n" * 100_000 + "A1: This.\n1." + "\n" * 100_000,
    "digits": "9" * 100_000, "spaces": " " * 100_000 + "x",
}


@pytest.mark.parametrize("name", sorted(READERS))
@pytest.mark.parametrize("case", list(CASES))
def test_reader_is_total_on_the_issue_cases(name, case):
    if (name, case) in REPORTED and _still_slow(name, case):
        pytest.skip(REPORTED[name, case])
    start = time.perf_counter()
    READERS[name](CASES[case])
    assert time.perf_counter() - start < DEADLINE.total_seconds()
