"""The stage helper (run/stage.py), driven through a real `Teacher` (cache, key, retries) on a scripted provider:
the request it builds (template, sampling merge, JSON schema), and what it makes of each choice — read, or
rejected with a named reason (empty, cut off, refused by the reader, failing the reply model, a reader's crash),
counted under the stage — and a call out of retries recorded as failed."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, field_validator
from test_run_context import rows

from distill.config import RunConfig
from distill.engine.cache import CallCache
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.errors import RetryableError
from distill.executors.local import LocalExecutor
from distill.providers.base import Capabilities, Choice, Completion, GenerationParams, Provider
from distill.providers.spec import ProviderSpec
from distill.run.context import RunContext
from distill.run.folder import RunFolder, order_key
from distill.run.models import Models
from distill.run.outcomes import Outcomes
from distill.run.progress import Progress
from distill.run.reply_schema import reply_schema
from distill.run.stage import Rejected, Stage


class Scripted(Provider):
    """Answers each call with `replies` ((text, finish_reason) per choice) and keeps what it was asked."""

    kind = "scripted"
    replies: list[tuple[str, str]] = [("fine", "stop")]
    asked: list[tuple[list[dict[str, str]], GenerationParams]] = []
    fails = False

    async def complete(self, messages, params):
        type(self).asked.append((messages, params))
        if self.fails:
            raise RetryableError("HTTP 500")
        return Completion(choices=[Choice(text=t, finish_reason=f) for t, f in self.replies])


def make_ctx(tmp_path, replies: list[tuple[str, str]], *, schemas: bool = True, fails: bool = False,
             defaults: GenerationParams | None = None) -> RunContext:
    provider_class = type("Script", (Scripted,), {"replies": replies, "asked": [], "fails": fails,
                                                  "capabilities": Capabilities(supports_json_schema=schemas)})
    folder = RunFolder(tmp_path / "run")
    folder.prepare("respond")
    folder.open_streams()
    usage = Usage()
    spec = ProviderSpec(provider="scripted", max_retries=0)
    teacher = Teacher("teacher", provider_class(spec), CallCache(tmp_path / "cache.sqlite"), usage.role("teacher"),
                      defaults or GenerationParams(temperature=0.3, max_tokens=99))
    return RunContext(config=RunConfig(recipe="respond"), models=Models(teacher),
                      outcomes=Outcomes(folder, Progress(None, "t", enabled=False), usage), executor=LocalExecutor())


def asked(ctx: RunContext) -> list[tuple[list[dict[str, str]], GenerationParams]]:
    return type(ctx.teacher.provider).asked  # type: ignore[attr-defined, no-any-return]


def reasons(ctx: RunContext) -> list[str]:
    return [r["reason"] for _, r in rows(ctx, "rejected")]


class Verdict(BaseModel):
    verdict: Literal["yes", "no"]
    score: int = Field(ge=1, le=3)

    @field_validator("verdict", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> str:
        return str(value).strip().lower()


def words(text: str) -> list[str]:
    if len(text.split()) < 2:
        raise Rejected("too_short", {"words": len(text.split())})
    return text.split()


def test_the_prompt_is_the_template_rendered_and_model_text_in_a_variable_stays_text(tmp_path):
    ctx = make_ctx(tmp_path, [("two words", "stop")])
    stage = Stage("respond", "respond/user.j2", read=words)
    hostile = "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %} {{ config }}"
    answers = asyncio.run(ctx.ask(stage, order_key(0), {}, variables={"instruction": hostile, "input": ""},
                                  system="Be brief."))
    messages, _ = asked(ctx)[0]
    assert messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": hostile}]
    assert answers is not None and [a.value for a in answers] == [["two", "words"]]


def test_sampling_is_the_roles_defaults_then_the_option_then_the_overrides(tmp_path):
    ctx = make_ctx(tmp_path, [("a b", "stop")] * 3)
    option = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    stage = Stage("solve", "respond/user.j2")
    asyncio.run(ctx.ask(stage, order_key(0), {}, variables={"instruction": "x", "input": ""}, params=option, n=3,
                        seed=7))
    _, params = asked(ctx)[0]
    by_hand = ctx.teacher.params(**option.model_dump(exclude_none=True)).merged(n=3, seed=7)
    assert params == by_hand  # the request (and its cache key) the hand-written form made
    assert (params.temperature, params.top_p, params.max_tokens, params.n, params.seed) == (1.0, 0.95, 2048, 3, 7)
    asyncio.run(ctx.ask(stage, order_key(1), {}, variables={"instruction": "y", "input": ""}))
    assert asked(ctx)[1][1] == ctx.teacher.defaults  # no option: the role's own defaults
    once = ctx.sampling(stage, option, n=3, seed=7)  # made once for a hot loop, the same sampling
    asyncio.run(ctx.ask(stage, order_key(2), {}, variables={"instruction": "z", "input": ""}, sampled=once))
    assert asked(ctx)[2][1] is once and once == by_hand
    with pytest.raises(TypeError):
        asyncio.run(ctx.ask(stage, order_key(3), {}, variables={"instruction": "z", "input": ""}, sampled=once, n=2))


def test_a_cut_off_or_empty_choice_is_rejected_with_the_stages_reason_and_counted(tmp_path):
    replies = [("a full answer", "stop"), ("a cut off ans", "length"), ("   ", "stop"), ("", "length")]
    ctx = make_ctx(tmp_path, replies)
    stage = Stage("answer", "respond/user.j2", truncated="truncated_answer", empty="empty_answer")
    answers = asyncio.run(ctx.ask(stage, order_key(0), {"i": 0}, variables={"instruction": "x", "input": ""}, n=4,
                                  at=lambda j: order_key(0, j + 1)))
    assert answers is not None and [(a.index, a.text) for a in answers] == [(0, "a full answer")]
    assert reasons(ctx) == ["truncated_answer", "empty_answer", "empty_answer"]  # empty before cut off
    assert ctx.stage("answer").rejected == {"truncated_answer": 1, "empty_answer": 2}
    assert [r["raw"] for _, r in rows(ctx, "rejected")] == ["a cut off ans", "   ", ""]


def test_a_stage_without_a_truncation_reason_lets_the_reader_take_a_cut_off_list(tmp_path):
    ctx = make_ctx(tmp_path, [("1. one\n2. tw", "length")])
    stage = Stage("questions", "respond/user.j2", truncated=None, read=str.splitlines)
    answers = asyncio.run(ctx.ask(stage, order_key(0), {}, variables={"instruction": "x", "input": ""}))
    assert answers is not None and answers[0].cut and answers[0].value == ["1. one", "2. tw"]
    assert reasons(ctx) == []


def test_a_reader_names_its_rejection_and_a_readers_crash_rejects_instead_of_ending_the_run(tmp_path):
    ctx = make_ctx(tmp_path, [("one", "stop"), ("two words", "stop")])
    stage = Stage("respond", "respond/user.j2", read=words)
    answers = asyncio.run(ctx.ask(stage, order_key(0), {}, variables={"instruction": "x", "input": ""}, n=2,
                                  at=lambda j: order_key(0, j)))
    assert answers is not None and len(answers) == 1
    assert [(r["reason"], r["raw"], r.get("detail")) for _, r in rows(ctx, "rejected")] == [
        ("too_short", "one", {"words": 1})]

    def crashes(text: str) -> int:
        return int("9" * 5000)  # ValueError: too many digits

    crashing = make_ctx(tmp_path / "b", [("anything", "stop")])
    out = asyncio.run(crashing.ask(Stage("parse", "respond/user.j2", read=crashes), order_key(0), {},
                                   variables={"instruction": "x", "input": ""}))
    assert out == [] and reasons(crashing) == ["ValueError"]


def test_a_json_reply_model_gives_the_schema_and_the_validation(tmp_path):
    replies = [('Sure: {"verdict": " YES", "score": 2}', "stop"), ('{"verdict": "maybe", "score": 2}', "stop"),
               ('{"verdict": "no", "score": 7}', "stop"), ("no json here", "stop")]
    ctx = make_ctx(tmp_path, replies)
    stage = Stage("check", "respond/user.j2", role="judge", reply=Verdict, schema_name="verdict",
                  invalid="judge_unparseable")
    answers = asyncio.run(ctx.ask(stage, order_key(0), {}, variables={"instruction": "x", "input": ""}, n=4,
                                  at=lambda j: order_key(0, j)))
    assert answers is not None and [a.value for a in answers] == [Verdict(verdict="yes", score=2)]
    assert reasons(ctx) == ["judge_unparseable"] * 3
    details = [r["detail"] for _, r in rows(ctx, "rejected")]
    assert details[0].startswith("verdict:") and details[1].startswith("score:") and "no JSON" in details[2]
    fmt = asked(ctx)[0][1].response_format
    assert fmt == {"type": "json_schema", "json_schema": {"name": "verdict", "schema": reply_schema(Verdict),
                                                         "strict": True}}
    assert reply_schema(Verdict) == {
        "type": "object", "additionalProperties": False, "required": ["verdict", "score"],
        "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]},
                       "score": {"type": "integer", "minimum": 1, "maximum": 3}}}

    plain = make_ctx(tmp_path / "b", replies[:1], schemas=False)  # an endpoint without schemas: none is sent
    asyncio.run(plain.ask(stage, order_key(0), {}, variables={"instruction": "x", "input": ""}))
    assert asked(plain)[0][1].response_format is None


def test_a_call_out_of_retries_is_recorded_as_failed_and_asks_nothing_of_the_reader(tmp_path):
    ctx = make_ctx(tmp_path, [("never read", "stop")], fails=True)
    read: list[str] = []
    stage = Stage("solve", "respond/user.j2", read=read.append)
    out = asyncio.run(ctx.ask(stage, order_key(0), {"i": 0}, variables={"instruction": "x", "input": ""}))
    assert out is None and read == [] and ctx.stage("solve").failed == 1


def test_read_gives_the_same_answers_for_a_cached_reply(tmp_path):
    ctx = make_ctx(tmp_path, [("two words", "stop"), ("one", "stop")])
    stage = Stage("respond", "respond/user.j2", read=words)
    variables = {"instruction": "x", "input": ""}
    first = asyncio.run(ctx.ask(stage, order_key(0), {}, variables=variables, n=2, at=lambda j: order_key(0, j)))
    cached = ctx.teacher.cached(stage.messages(**variables), ctx.sampling(stage, n=2))
    assert cached is not None and len(asked(ctx)) == 1  # the same request: the same key
    again = ctx.read(stage, cached, order_key(1), {}, at=lambda j: order_key(1, j))
    assert [a.value for a in again] == [a.value for a in first or []] == [["two", "words"]]
    assert reasons(ctx) == ["too_short", "too_short"]


def test_the_reply_models_give_the_schemas_the_recipes_used_to_write_by_hand_byte_for_byte():
    from distill.recipes.evol_instruct.stages import Difficulty, Equality
    from distill.recipes.knowledge_qa.parse import Checks
    from distill.recipes.lab import judges as lab_judges
    from distill.recipes.magpie.recipe import Tags

    def obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}

    binary = {"type": "integer", "minimum": 0, "maximum": 1}
    levels = {"difficulty": ["very easy", "easy", "medium", "hard", "very hard"],
              "quality": ["very poor", "poor", "average", "good", "excellent"]}
    by_hand = {  # the dicts of magpie, knowledge_qa, lab_judges and evol_instruct before #30
        Tags: obj(["difficulty", "quality"], {k: {"type": "string", "enum": v} for k, v in levels.items()}),
        Checks: obj(["supported", "standalone", "answerable"], {k: {"type": "string", "enum": ["yes", "no"]}
                                                                 for k in ("supported", "standalone", "answerable")}),
        lab_judges.Binary: obj(["score"], {"score": binary}),
        lab_judges.ExplainedBinary: obj(["rationale", "score"], {"rationale": {"type": "string"}, "score": binary}),
        lab_judges.PairScore: obj(["rationale", "score"], {"rationale": {"type": "string"},
                                                           "score": {"type": "integer", "minimum": 1, "maximum": 3}}),
        lab_judges.Verdict: obj(["verdict"], {"verdict": {"type": "string", "enum": ["YES", "NO"]}}),
        lab_judges.Relevancy: obj(["subject", "focus"], {"subject": binary, "focus": binary}),
        Difficulty: obj(["rationale", "kind", "score"], {"rationale": {"type": "string"},
                                                         "kind": {"type": "string", "enum": ["instruction", "answer"]},
                                                         "score": {"type": "integer", "minimum": 1, "maximum": 10}}),
        Equality: obj(["verdict"], {"verdict": {"type": "string", "enum": ["Equal", "Not Equal"]}}),
    }
    for model, schema in by_hand.items():
        assert json.dumps(reply_schema(model)) == json.dumps(schema), model.__name__  # key order too


def test_a_reply_field_the_strict_schema_cannot_state_is_refused():
    class Nested(BaseModel):
        inner: Verdict

    class Bounded(BaseModel):
        share: float = Field(gt=0)

    for model in (Nested, Bounded):
        with pytest.raises(TypeError, match="may use type, enum, minimum, maximum only"):
            reply_schema(model)
