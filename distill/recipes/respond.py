"""respond: the teacher answers each input instruction. The engine's end-to-end path and the model for every
other recipe module: typed options, prompts from `prompts/respond/`, one worker per input row, and every row
ending as accepted, rejected (with a reason) or failed (with the last error)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from distill.engine.teacher import CallFailed
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.recipes.base import Recipe
from distill.run.folder import order_key
from distill.run.records import make_record

STAGE = "respond"


class RespondOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: bool = Field(False, description="send prompts/respond/system.j2 as a system turn")
    samples: int = Field(1, ge=1, le=64, description="answers per instruction (the teacher's n)")
    min_words: int = Field(1, ge=0, description="reject answers with fewer words")


class Respond(Recipe):
    name = "respond"
    summary = "answer a list of instructions with the teacher"
    Options: ClassVar[type[BaseModel]] = RespondOptions
    options: RespondOptions

    def _messages(self, row: InputRow) -> list[dict[str, str]]:
        user = render("respond/user.j2", instruction=row.instruction, input=row.input)
        system = [{"role": "system", "content": render("respond/system.j2")}] if self.options.system else []
        return system + [{"role": "user", "content": user}]

    def preview(self, cfg: Any, rows: Iterator[InputRow], limit: int) -> list[list[dict[str, str]]]:
        return [self._messages(row) for row in islice(rows, limit)]

    def estimate_calls(self, rows: int) -> int:
        return rows

    async def run(self) -> None:
        await self.ctx.map(self.ctx.inputs(), self._one)

    async def _one(self, row: InputRow) -> None:
        ctx = self.ctx
        messages = self._messages(row)
        item = {"index": row.index, "instruction": row.instruction, "input": row.input}
        try:
            completion = await ctx.teacher.complete(messages, ctx.teacher.params(n=self.options.samples))
        except CallFailed as exc:
            ctx.fail(order_key(row.index), STAGE, item, exc)
            return
        reference = row.source.get(self.ctx.config.quality.reference_field) if (
            self.ctx.config.quality and self.ctx.config.quality.reference_field) else None
        system = messages[0]["content"] if self.options.system else None
        good: list[str] = []
        jobs = []
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
                        "teacher": ctx.teacher.spec.short_name(), "stages": [STAGE], "scores": {}}
                record = make_record(instruction=row.instruction, input=row.input, output=text, system=system,
                                     meta=meta)
                jobs.append(ctx.submit(order, STAGE, record, reference=reference))
        if ctx.config.quality and ctx.config.quality.pairwise and len(good) >= 2:
            jobs.append(ctx.submit_pair(order_key(row.index, 0), STAGE, messages, good[0], good[1],
                                        {"recipe": self.name, "index": row.index}))
        await asyncio.gather(*jobs)
