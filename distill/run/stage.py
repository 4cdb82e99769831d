"""One model call of a recipe stage, from prompt to parsed answers: the stage helper (`ctx.ask`).

A recipe declares each stage once, at module level, and calls it through `ctx`:

    SOLVE = Stage("solve", "math_qa/solve.j2", read=boxed_answer)          # read: text -> value, or raise

    answers = await ctx.ask(SOLVE, order, item, variables={"problem": p}, params=opts.solve, n=opts.samples,
                            at=lambda j: order_key(row, j + 1))
    if answers is None:          # the call failed or was refused: recorded, nothing to do
        return
    for a in answers:            # the choices that were read; each other one is rejected with its reason
        ... a.value, a.text, a.choice, a.index ...

What `ask` does, in order (distilabel's format_input / call / format_output, in one place):
1. the prompt: `variables` rendered into the stage's jinja2 template as the user turn (`Stage.messages`, also
   for `preview`; model text passed as a variable is data, never template source), or `messages` as given;
2. the sampling: the role's defaults, then the recipe option (`params`, e.g. `opts.solve`), then `overrides`
   (`n`, `seed`, `stop`, ...) — and for a stage with a `reply` model, its JSON schema as `response_format` when
   the endpoint enforces one (`quality.judge.json_format`). Same `GenerationParams`, so the same request and the
   same cache key as the hand-written `role.params(**opts.X.model_dump(exclude_none=True)).merged(...)`;
3. the call: `role.complete(messages, params, sample=...)` under `ctx.call`'s guard — cached, batched and asked
   once as every call; a call out of retries is recorded as failed and a refused prompt as rejected (None);
4. each choice (the model's `<think>` block already moved to `choice.reasoning`; `text` is the rest, stripped):
   an empty text is rejected with `Stage.empty` (when set), a cut-off one (finish_reason "length") with
   `Stage.truncated` (when set; None lets the reader take it, e.g. a list that drops its last item), then it is
   read under the reply guard (`ctx.reading`): `read(text)`, or for a `reply` model the JSON object found in the
   text validated by it. `Rejected("reason")` raised by the reader, and a reply that fails the model's
   validation (`Stage.invalid`), reject that choice with the named reason and its raw text; anything else the
   reader raises rejects it with the exception's class name (run/reply_guard.py). Every rejection is counted
   under the stage's name.

`Stage.messages`, `sampling` and `read` are steps 1, 2 and 4 alone: for a recipe's synchronous re-run path
(`teacher.cached`), and for sampling made once and reused by every call of a hot loop (`sampled=`).
Records built from the answers are still checked for generation artefacts when accepted (text/artefacts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from distill.prompts import render
from distill.providers.base import Choice, Completion, GenerationParams, Message
from distill.quality.judge import json_format
from distill.quality.replies import UnreadableReply, find_json_object
from distill.run.reply_schema import reply_schema

if TYPE_CHECKING:
    from distill.engine.teacher import Teacher
    from distill.run.context import RunContext

T = TypeVar("T")
Role = Literal["teacher", "judge", "answerer"]
Reject = Callable[..., None]  # (order, stage, reason, item, raw=None, detail=None), as `ctx.reject`


class Rejected(Exception):
    """Raised by a stage's reader: reject this choice with `reason` (and `detail`), its raw text kept."""

    def __init__(self, reason: str, detail: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Stage(Generic[T]):
    """One stage of a recipe. `name`: the stage its rejections and failures count under; `template`: the
    prompt file under prompts/ (None: the caller sends its own messages); `role`: who answers ("judge" is the
    judge, else the teacher; "answerer" the answer teacher, else the teacher); `read`: text -> value (raise
    `Rejected` to name the reason); `reply`: a pydantic model of a JSON reply — its schema is sent as
    `response_format` (named `schema_name`, default the template's stem) and, without `read`, it validates the
    reply; `truncated` / `empty` / `invalid`: the rejection reasons (None: no such check)."""

    name: str
    template: str | None = None
    role: Role = "teacher"
    read: Callable[[str], T] = _text  # type: ignore[assignment]  # (the identity: T is str)
    reply: type[BaseModel] | None = None
    schema_name: str | None = None
    truncated: str | None = "truncated"
    empty: str | None = None
    invalid: str = "invalid_reply"

    def messages(self, system: str | None = None, **variables: Any) -> list[Message]:
        """The stage's prompt: `system` (when given) and the template rendered with `variables` as the user turn."""
        assert self.template is not None, f"stage {self.name} has no template"
        head = [{"role": "system", "content": system}] if system else []
        return head + [{"role": "user", "content": render(self.template, **variables)}]

    def response_format(self, model: Teacher) -> dict[str, Any] | None:
        if self.reply is None:
            return None
        name = self.schema_name or PurePosixPath(self.template or self.name).stem
        return json_format(model, reply_schema(self.reply), name)

    def parse(self, text: str) -> T:
        """The value of a choice's text: `read`, or the `reply` model validating the JSON object in the text."""
        if self.reply is None or self.read is not _text:
            return self.read(text)
        found = find_json_object(text)
        if found is None:
            raise Rejected(self.invalid, "no JSON object in the reply")
        try:
            return self.reply.model_validate(found)  # type: ignore[return-value]
        except ValidationError as exc:
            raise Rejected(self.invalid, _errors(exc)) from None


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One choice of a reply that was read: `value` (what the stage read), `text` (the reply without its
    reasoning, stripped), `choice` (finish_reason, reasoning: for `reasoning_meta`) and `index` (its place)."""

    value: T
    text: str
    choice: Choice
    index: int

    @property
    def cut(self) -> bool:
        """Cut off by the token limit (only a stage with `truncated=None` lets such a choice through)."""
        return self.choice.finish_reason == "length"


def model_for(ctx: RunContext, role: Role) -> Teacher:
    if role == "judge":
        return ctx.judge or ctx.teacher
    return ctx.answerer if role == "answerer" else ctx.teacher


def sampling(ctx: RunContext, stage: Stage[Any], params: GenerationParams | None = None, **overrides: Any
             ) -> GenerationParams:
    """Step 2: the role's defaults, then `params` (a recipe option), then `overrides` and the reply model's
    `response_format` (see the module doc)."""
    model = model_for(ctx, stage.role)
    merged = model.params(**params.model_dump(exclude_none=True)) if params is not None else model.defaults
    fmt = stage.response_format(model)
    return merged.merged(**overrides, **({"response_format": fmt} if fmt else {}))


def read(ctx: RunContext, stage: Stage[T], completion: Completion, order: str, item: dict[str, Any], *,
         at: Callable[[int], str] | None = None, reject: Reject | None = None) -> list[Answer[T]]:
    """Step 4: the choices that were read; every other choice is rejected under `stage.name` at `at(index)`
    (default: `order`) through `reject` (default `ctx.reject`)."""
    reject = reject or ctx.reject
    out = []
    for index, choice in enumerate(completion.choices):
        where = at(index) if at is not None else order
        text = choice.text.strip()
        problem = (stage.empty if not text else None) or (
            stage.truncated if choice.finish_reason == "length" else None)
        if problem:
            reject(where, stage.name, problem, item, raw=choice.text)
            continue
        value = _parsed(ctx, stage, where, item, choice.text, text, reject)
        if value is not _UNREAD:
            out.append(Answer(value, text, choice, index))
    return out


_UNREAD: Any = object()


def _parsed(ctx: RunContext, stage: Stage[T], where: str, item: dict[str, Any], raw: str, text: str,
            reject: Reject) -> T:
    value = _UNREAD
    with ctx.reading(where, stage.name, item, raw, partial(_unreadable, reject, where, stage.name, item)) as guard:
        try:
            value = stage.parse(text)
        except Rejected as why:
            reject(where, stage.name, why.reason, item, raw=raw, detail=why.detail)
    return _UNREAD if guard.stopped else value


def _unreadable(reject: Reject, order: str, stage: str, item: dict[str, Any], exc: UnreadableReply) -> None:
    reject(order, stage, exc.reason, item, raw=exc.raw, detail=str(exc))


async def ask(ctx: RunContext, stage: Stage[T], order: str, item: dict[str, Any], *,
              variables: Mapping[str, Any] | None = None, messages: Sequence[Message] | None = None,
              system: str | None = None, params: GenerationParams | None = None,
              sampled: GenerationParams | None = None, sample: int = 0, at: Callable[[int], str] | None = None,
              reject: Reject | None = None, **overrides: Any) -> list[Answer[T]] | None:
    """Steps 1-4: the answers read from one call, or None when the call failed or its prompt was refused (both
    recorded under `stage.name` at `order`). `sampled`: sampling made once by `sampling` for many calls (a hot
    loop), instead of `params` and overrides."""
    if sampled is None:
        sampled = sampling(ctx, stage, params, **overrides)
    elif params is not None or overrides:
        raise TypeError("ask: give `sampled` (from ctx.sampling) or `params` and overrides, not both")
    prompt = list(messages) if messages is not None else stage.messages(system, **(variables or {}))
    completion = await ctx.call(order, stage.name, item,
                                model_for(ctx, stage.role).complete(prompt, sampled, sample=sample))
    if completion is None:
        return None
    return read(ctx, stage, completion, order, item, at=at, reject=reject)


def _errors(exc: ValidationError) -> str:
    """A validation failure on one line: `field: message; ...` (bounded)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()[:4]]
    return "; ".join(parts)[:300]
