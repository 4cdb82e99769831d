"""LLM-as-judge calls: rubric grading of one response, and pairwise comparison in both orders.

Structured output is requested (a JSON schema through `response_format`) where the judge's provider supports it,
and the reply is parsed robustly either way; it is read inside the reply guard (run/reply_guard.py), so whatever
its reader raises makes it unreadable, with the exception's class name as reason. Judges run at temperature 0
unless configured otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill.engine.teacher import Teacher
from distill.prompts import render
from distill.providers.base import GenerationParams
from distill.quality.replies import Unparseable, UnreadableReply, parse_score, parse_winner
from distill.quality.rubrics import Rubric
from distill.run.guard import settle
from distill.run.reply_guard import reading

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
        raw = completion.choices[0].text
        with reading(raw):
            try:
                score, rationale = parse_score(raw, rubric.scale)
            except Unparseable as exc:
                raise UnreadableReply("judge_unparseable", f"{rubric.name}: {exc}", raw) from None
        return Grade(rubric.name, score, rationale)

    async def compare(self, instruction: str, first: str, second: str, criteria: str | None = None) -> Comparison:
        """Judge (first, second) and (second, first); a winner counts only if both orders agree."""
        async def one(a: str, b: str) -> tuple[str, str]:
            prompt = render("judge/pairwise.j2", instruction=instruction, first=a, second=b, criteria=criteria)
            completion = await self.teacher.complete([{"role": "user", "content": prompt}],
                                                     self._params(WINNER_SCHEMA, "compare"))
            raw = completion.choices[0].text
            with reading(raw):
                try:
                    return parse_winner(raw)
                except Unparseable as exc:
                    raise UnreadableReply("judge_unparseable", f"pairwise: {exc}", raw) from None

        (v1, r1), (v2, r2) = await settle(one(first, second), one(second, first))  # neither order left running
        if v1 == "A" and v2 == "B":
            winner = "first"
        elif v1 == "B" and v2 == "A":
            winner = "second"
        else:
            winner = "tie"  # a tie, or the verdict followed the position rather than the content
        return Comparison(winner, [v1, v2], [r1, r2])
