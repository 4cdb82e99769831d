"""What a recipe is: typed options, a way to preview its first prompts, and an async `run`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from distill.config import RunConfig
from distill.io.inputs import InputRow
from distill.run.context import RunContext


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

    def estimate_calls(self, rows: int) -> int:
        """How many teacher calls a run over `rows` input rows makes, at most (for --dry-run)."""
        raise NotImplementedError

    async def run(self) -> None:
        raise NotImplementedError

    def reasoning_meta(self, choice: Any) -> dict[str, Any]:
        """`{"reasoning": ...}` for the meta of a record whose output is this choice's text, when the run keeps
        reasoning (`keep_reasoning: true`) and the teacher reasoned; else nothing."""
        if choice.reasoning and self.ctx.config.keep_reasoning:
            return {"reasoning": choice.reasoning}
        return {}
