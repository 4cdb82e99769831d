"""LLM-as-judge calls: rubric grading of one response, and pairwise comparison in both orders.

Structured output is requested (a JSON schema through `response_format`) where the judge's provider supports it,
and the reply is parsed robustly either way; it is read inside the reply guard (run/reply_guard.py), so whatever
its reader raises makes it unreadable, with the exception's class name as reason. Judges run at temperature 0
unless configured otherwise.

A verdict is read from the reply without its reasoning block (`Choice` sets `<think>...</think>` apart). A reply
with no readable verdict is rejected as `judge_unparseable`; one cut off at max_tokens (finish_reason "length") as
`judge_truncated`, unless a complete JSON object carries the verdict: a cut-off reply's free text may hold a
number that was not the verdict ("Score: 1" of "Score: 10", a score quoted in an unfinished rationale). Either
is a counted rejection with the raw reply (rejected.jsonl, the manifest's stage counts), never a pass or a fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from distill.engine.teacher import Teacher
from distill.prompts import render
from distill.providers.base import Choice, GenerationParams
from distill.quality.replies import Unparseable, UnreadableReply, find_json_object, parse_score, parse_winner
from distill.quality.rubrics import Rubric
from distill.run.guard import settle
from distill.run.reply_guard import reading

T = TypeVar("T")
UNPARSEABLE = "judge_unparseable"
TRUNCATED = "judge_truncated"

WINNER_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["rationale", "winner"],
                 "properties": {"rationale": {"type": "string"}, "winner": {"type": "string",
                                                                            "enum": ["A", "B", "tie"]}}}


@dataclass
class Grade:
    rubric: str
    score: float
    rationale: str


@dataclass
class Comparison:
    winner: str  # "first" | "second" | "tie" in the caller's order
    verdicts: list[str]  # raw verdicts of (first, second) and (second, first), each "A"/"B"/"tie"
    rationales: list[str]


def json_format(teacher: Teacher, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A json_schema response_format when the teacher's provider enforces one (OpenAI, vLLM, llama.cpp grammars),
    else None (the reply is then parsed leniently)."""
    if teacher.supports_json_schema:  # the openai provider's `supports_json_schema:` too
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return None


def read_verdict(choice: Choice, key: str, parse: Callable[[str], T], what: str) -> T:
    """`parse` applied to the judge's reply; `key` is the verdict's field in a JSON reply.
    Raises UnreadableReply (`judge_truncated` or `judge_unparseable`, see the module docstring)."""
    text = choice.text  # without its reasoning block (`Choice` moved it to `reasoning`)
    if choice.finish_reason == "length":
        obj = find_json_object(text)
        if obj is None or key not in obj:
            raise UnreadableReply(TRUNCATED, f"{what}: the reply was cut off at max_tokens before a complete "
                                  "verdict", text)
    try:
        return parse(text)
    except Unparseable as exc:
        raise UnreadableReply(UNPARSEABLE, f"{what}: {exc}", text) from None


class Judge:
    def __init__(self, teacher: Teacher, *, max_tokens: int = 512, temperature: float = 0.0) -> None:
        self.teacher = teacher
        self.max_tokens = max_tokens
        self.temperature = temperature

    def _params(self, schema: dict[str, Any], name: str) -> GenerationParams:
        fmt = json_format(self.teacher, schema, name)
        return self.teacher.params(temperature=self.temperature, max_tokens=self.max_tokens, n=1,
                                   response_format=fmt)

    async def grade(self, instruction: str, response: str, rubric: Rubric, reference: str | None = None) -> Grade:
        prompt = render("judge/pointwise.j2", instruction=instruction, response=response, rubric=rubric,
                        reference=reference)
        completion = await self.teacher.complete([{"role": "user", "content": prompt}],
                                                 self._params(rubric.reply_schema(), "grade"))
        choice = completion.choices[0]
        with reading(choice.text):
            score, rationale = read_verdict(choice, "score", lambda text: parse_score(text, rubric.scale),
                                            rubric.name)
        return Grade(rubric.name, score, rationale)

    async def compare(self, instruction: str, first: str, second: str, criteria: str | None = None) -> Comparison:
        """Judge (first, second) and (second, first); a winner counts only if both orders agree."""
        async def one(a: str, b: str) -> tuple[str, str]:
            prompt = render("judge/pairwise.j2", instruction=instruction, first=a, second=b, criteria=criteria)
            completion = await self.teacher.complete([{"role": "user", "content": prompt}],
                                                     self._params(WINNER_SCHEMA, "compare"))
            choice = completion.choices[0]
            with reading(choice.text):
                return read_verdict(choice, "winner", parse_winner, "pairwise")

        (v1, r1), (v2, r2) = await settle(one(first, second), one(second, first))  # neither order left running
        if v1 == "A" and v2 == "B":
            winner = "first"
        elif v1 == "B" and v2 == "A":
            winner = "second"
        else:
            winner = "tie"  # a tie, or the verdict followed the position rather than the content
        return Comparison(winner, [v1, v2], [r1, r2])
