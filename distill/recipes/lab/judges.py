"""LAB's judges and their keep rules: question judge (keep 1), pair judge 1-3 (keep >= 2), faithfulness (keep
YES), relevancy (keep 2 of 2), question quality (keep 1). Each returns (kept, score, raw) or raises
UnreadableReply (also when its reader raises: run/reply_guard.py), so an unreadable verdict is a rejection with the
raw reply, never an accept."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from distill.engine.teacher import Teacher
from distill.quality.judge import TRUNCATED
from distill.quality.replies import Unparseable, UnreadableReply, as_score, find_json_object, parse_score
from distill.run.reply_guard import reading
from distill.run.stage import Stage


class Binary(BaseModel):
    score: int = Field(ge=0, le=1)


class ExplainedBinary(BaseModel):
    rationale: str
    score: int = Field(ge=0, le=1)


class PairScore(BaseModel):
    rationale: str
    score: int = Field(ge=1, le=3)


class Verdict(BaseModel):
    verdict: Literal["YES", "NO"]


class Relevancy(BaseModel):
    subject: int = Field(ge=0, le=1)
    focus: int = Field(ge=0, le=1)


# each judge's prompt and the JSON schema its reply is asked for (the schema named after the template); the
# replies are read leniently below (JSON or the free-text forms judges use), as an endpoint may not enforce it
QUESTION: Stage[ExplainedBinary] = Stage("judge", "lab/question_judge.j2", role="judge", reply=ExplainedBinary)
PAIR: Stage[PairScore] = Stage("judge", "lab/pair_judge.j2", role="judge", reply=PairScore)
FAITHFULNESS: Stage[Verdict] = Stage("judge", "lab/faithfulness.j2", role="judge", reply=Verdict)
RELEVANCY: Stage[Relevancy] = Stage("judge", "lab/relevancy.j2", role="judge", reply=Relevancy)
QUALITY: Stage[Binary] = Stage("judge", "lab/question_quality.j2", role="judge", reply=Binary)


async def _ask(judge: Teacher, stage: Stage[Any], max_tokens: int, key: str, what: str, **variables: Any) -> str:
    """The judge's reply text; a reply cut off at `max_tokens` before a complete JSON verdict (`key`) is
    `judge_truncated` (quality/judge.py), never read as whatever its first words were."""
    params = judge.params(temperature=0.0, max_tokens=max_tokens, n=1, response_format=stage.response_format(judge))
    reply = await judge.complete(stage.messages(**variables), params)
    choice = reply.choices[0]
    if choice.finish_reason == "length":
        obj = find_json_object(choice.text)
        if obj is None or key not in obj:
            raise UnreadableReply(TRUNCATED, f"{what}: the reply was cut off at max_tokens before a complete "
                                  "verdict", choice.text)
    return choice.text


def _score(raw: str, scale: tuple[int, int], name: str) -> float:
    with reading(raw):
        try:
            return parse_score(raw, scale)[0]
        except Unparseable as exc:
            raise UnreadableReply("judge_unparseable", f"{name}: {exc}", raw) from None


async def question_ok(judge: Teacher, task: str, question: str, context: str | None = None
                      ) -> tuple[bool, float, str]:
    """Keep 1. A grounded skill's question is judged with its context: it must be answerable from it alone."""
    raw = await _ask(judge, QUESTION, 256, "score", "question judge", task=task, question=question,
                     context=context)
    score = _score(raw, (0, 1), "question judge")
    return score == 1, score, raw


async def pair_ok(judge: Teacher, task: str, question: str, answer: str, context: str | None
                  ) -> tuple[bool, float, str]:
    raw = await _ask(judge, PAIR, 256, "score", "pair judge", task=task, question=question, answer=answer,
                     context=context)
    score = _score(raw, (1, 3), "pair judge")
    return score >= 2, score, raw


async def faithful(judge: Teacher, chunk: str, answer: str) -> tuple[bool, float, str]:
    raw = await _ask(judge, FAITHFULNESS, 16, "verdict", "faithfulness", chunk=chunk, answer=answer)
    with reading(raw):
        obj = find_json_object(raw)
        m = re.match(r"[\s*]{0,16}(YES|NO)\b", str(obj.get("verdict", "")) if obj else raw, re.I)
    if not m:
        raise UnreadableReply("judge_unparseable", "faithfulness: no YES or NO", raw)
    yes = m.group(1).upper() == "YES"
    return yes, float(yes), raw


async def relevant(judge: Teacher, question: str, answer: str) -> tuple[bool, float, str]:
    raw = await _ask(judge, RELEVANCY, 24, "focus", "relevancy", question=question, answer=answer)
    with reading(raw):
        obj = find_json_object(raw)
        scores = [as_score(obj.get(key)) if obj else None for key in ("subject", "focus")]
    if not all(x in (0.0, 1.0) for x in scores):
        raise UnreadableReply("judge_unparseable", "relevancy: no subject/focus scores of 0 or 1", raw)
    total = sum(scores)  # type: ignore[arg-type]
    return total == 2, float(total), raw


async def standalone(judge: Teacher, question: str) -> tuple[bool, float, str]:
    raw = await _ask(judge, QUALITY, 16, "score", "question quality", question=question)
    score = _score(raw, (0, 1), "question quality")
    return score == 1, score, raw
