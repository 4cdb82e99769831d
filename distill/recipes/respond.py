"""respond: the teacher answers each input instruction. The engine's end-to-end path and the model for every
other recipe module: typed options, prompts from `prompts/respond/`, one worker per input row, and every row
ending as accepted, rejected (with a reason) or failed (with the last error)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from distill.io.inputs import InputRow
from distill.prompts import render
from distill.recipes.base import Estimate, Recipe
from distill.run.folder import order_key
from distill.run.records import make_record

STAGE = "respond"


class RespondOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: bool = Field(False, description="send prompts/respond/system.j2 as a system turn")
    system_prompt: str | None = Field(None, description="a system message of your own for every prompt "
                                                         "(instead of prompts/respond/system.j2)")
    samples: int = Field(1, ge=1, le=64, description="answers per instruction (the teacher's n)")
    min_words: int = Field(1, ge=0, description="reject answers with fewer words")


class Respond(Recipe):
    name = "respond"
    summary = "answer a list of instructions with the teacher"
    Options: ClassVar[type[BaseModel]] = RespondOptions
    options: RespondOptions

    def _messages(self, row: InputRow) -> list[dict[str, str]]:
        user = render("respond/user.j2", instruction=row.instruction, input=row.input)
        text = self.options.system_prompt or (render("respond/system.j2") if self.options.system else None)
        system = [{"role": "system", "content": text}] if text else []
        return system + [{"role": "user", "content": user}]

    def preview(self, cfg: Any, rows: Iterator[InputRow], limit: int) -> list[list[dict[str, str]]]:
        return [self._messages(row) for row in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        return Estimate(candidates=rows * self.options.samples).add("teacher", rows, self.options.samples)

    async def run(self) -> None:
        self.params = self.ctx.teacher.params(n=self.options.samples)
        self._rendered: dict[int, list[dict[str, str]]] = {}  # at most one window's worth
        sync_ok = not self.ctx.submits and not (self.ctx.config.quality and self.ctx.config.quality.pairwise)
        await self.ctx.map(self.ctx.inputs(), self._one, fast=self._cached if sync_ok else None, memo=InputRow.identity)

    def _cached(self, row: InputRow) -> bool:
        """A re-run's fast path: the answer is cached and nothing downstream needs to wait."""
        messages = self._messages(row)
        completion = self.ctx.teacher.cached(messages, self.params)
        if completion is None:
            self._rendered[row.index] = messages  # _one picks them up: no second rendering
            return False
        leftover = self._outcomes(row, messages, completion)
        assert not leftover, "the fast path runs only without a grading gate or a pairwise stage"
        return True

    async def _one(self, row: InputRow) -> None:
        ctx = self.ctx
        messages = self._rendered.pop(row.index, None) or self._messages(row)
        item = {"index": row.index, "instruction": row.instruction, "input": row.input}
        completion = await ctx.call(order_key(row.index), STAGE, item, ctx.teacher.complete(messages, self.params))
        if completion is None:
            return
        jobs = self._outcomes(row, messages, completion)
        if len(jobs) == 1:
            await jobs[0]
        elif jobs:
            await asyncio.gather(*jobs)

    def _outcomes(self, row: InputRow, messages: list[dict[str, str]], completion: Any) -> list[Any]:
        """Reject or accept each choice; return the coroutines that must still run (quality gate, pairwise)."""
        ctx = self.ctx
        item = {"index": row.index, "instruction": row.instruction, "input": row.input}
        reference = row.source.get(ctx.config.quality.reference_field) if (
            ctx.config.quality and ctx.config.quality.reference_field) else None
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        good: list[str] = []
        jobs: list[Any] = []
        grading = ctx.submits  # a grading gate, or multi-turn extension
        for j, choice in enumerate(completion.choices):
            order = order_key(row.index, j)
            text = choice.text.strip()
            if choice.finish_reason == "length":
                ctx.reject(order, STAGE, "truncated", item, raw=choice.text)
            elif len(text.split()) < max(1, self.options.min_words):
                ctx.reject(order, STAGE, "too_short" if text else "empty", item, raw=choice.text)
            else:
                good.append(text)
                meta = {"recipe": self.name, "index": row.index, "sample": j,
                        "teacher": ctx.teacher.spec.short_name(), "stages": [STAGE], "scores": {},
                        **self.reasoning_meta(choice)}
                record = make_record(instruction=row.instruction, input=row.input, output=text, system=system,
                                     meta=meta)
                if grading:
                    jobs.append(ctx.submit(order, STAGE, record, reference=reference))
                else:
                    ctx.accept(order, STAGE, record)
        if ctx.config.quality and ctx.config.quality.pairwise and len(good) >= 2:
            jobs.append(ctx.submit_pair(order_key(row.index, 0), STAGE, messages, good[0], good[1],
                                        {"recipe": self.name, "index": row.index}))
        return jobs
