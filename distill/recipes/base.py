"""What a recipe is: typed options, a way to preview its first prompts, and an async `run`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from distill.config import RunConfig
from distill.io.inputs import InputRow
from distill.run.context import RunContext


@dataclass
class Estimate:
    """What a run would ask of each model, for `--dry-run`. Roles: `teacher`; `judge` (the recipe's own judge
    calls, answered by `judge:` or else the teacher); `answer` (answered by `answer_teacher:` or else the teacher).

    `requests` counts calls and `samples` the completions they ask for (a call with `n: 4` is one request and four
    samples; an endpoint without `n` turns it into four requests). `candidates` is how many records at most reach
    the quality gate, whose judge calls (`gate` per candidate) the dry run adds. When `about` is set the figures
    depend on what the replies yield (how many new instructions pass the filters, how many questions a reply
    lists) and `basis` says what was assumed; otherwise they are ceilings the run cannot pass."""

    requests: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    candidates: int = 0
    gate: int = 0  # the quality gate's judge calls per candidate (set by the dry run)
    about: bool = False
    basis: str = ""
    max_tokens: int | None = None  # the teacher's longest reply when the recipe sets its own (else generation:'s)

    def add(self, role: str, requests: int, n: int = 1) -> Estimate:
        self.requests[role] = self.requests.get(role, 0) + requests
        self.samples[role] = self.samples.get(role, 0) + requests * n
        return self


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Recipe:
    name: ClassVar[str]
    summary: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions

    ctx: RunContext

    def __init__(self, ctx: RunContext | None, options: Any) -> None:
        self.ctx = ctx  # type: ignore[assignment]  # None only in a dry run's preview
        self.options = options

    def preview(self, cfg: RunConfig, rows: Iterator[InputRow], limit: int) -> list[list[dict[str, str]]]:
        """The first `limit` teacher prompts a run would send (for --dry-run; no ctx, no teacher needed)."""
        raise NotImplementedError

    def estimate(self, cfg: RunConfig, rows: int) -> Estimate:
        """The calls a run over `rows` input rows (or `--num` for generating recipes) makes (for --dry-run)."""
        raise NotImplementedError

    async def run(self) -> None:
        raise NotImplementedError

    def reasoning_meta(self, choice: Any) -> dict[str, Any]:
        """`{"reasoning": ...}` for the meta of a record whose output is this choice's text, when the run keeps
        reasoning (`keep_reasoning: true`) and the teacher reasoned; else nothing. `make_record` moves it to the
        record's `reasoning` field, where the reasoning recipe keeps its traces, so that every recipe's thinking
        is in one place and exported by the same formats (`distill export --format think_inline` ...). Recipes
        whose record is not one choice's text (alpaca, self_instruct, knowledge_qa: many records parsed from one
        reply) keep none."""
        if choice.reasoning and self.ctx.config.keep_reasoning:
            return {"reasoning": choice.reasoning}
        return {}


CONTRACT = ("preview", "estimate", "run")  # what every registered recipe implements (preview, estimate: --dry-run)


def unimplemented(cls: type[Recipe]) -> list[str]:
    """The parts of the recipe contract that `cls` leaves to `Recipe`'s placeholders."""
    return [method for method in CONTRACT if getattr(cls, method) is getattr(Recipe, method)]


def summary_of(cls: type[Recipe]) -> str:
    """What the recipe does in one line: its `summary`, else the first line of its docstring."""
    summary = getattr(cls, "summary", None) or (cls.__doc__ or "").strip().split("\n")[0]
    return summary or "(no summary: give the class a `summary` or a docstring)"
