"""respond: the teacher answers each input instruction. The engine's end-to-end path and the model for every
other recipe module: typed options, prompts from `prompts/respond/`, one worker per input row, and every row
ending as accepted, rejected (with a reason) or failed (with the last error)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.io.inputs import InputRow
from distill.prompts import render
from distill.recipes.base import Estimate, Recipe
from distill.recipes.respond.options import RespondOptions
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Answer, Rejected, Stage

STAGE = "respond"
RESPOND: Stage[str] = Stage(STAGE, "respond/user.j2")  # its reader: `answer_of(options.min_words)`


def answer_of(min_words: int) -> Callable[[str], str]:
    """The reader of an answer: its text, when it has at least `min_words` words (and at least one)."""
    def answer(text: str) -> str:
        if len(text.split()) < max(1, min_words):
            raise Rejected("too_short" if text else "empty")
        return text
    return answer


class Respond(Recipe):
    name = "respond"
    summary = "answer a list of instructions with the teacher"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = RespondOptions
    options: RespondOptions

    def _messages(self, row: InputRow) -> list[dict[str, str]]:
        system = self.options.system_prompt or (render("respond/system.j2") if self.options.system else None)
        return RESPOND.messages(system, instruction=row.instruction, input=row.input)

    def preview(self, cfg: Any, rows: Iterator[InputRow], limit: int) -> list[list[dict[str, str]]]:
        return [self._messages(row) for row in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        return Estimate(candidates=rows * self.options.samples).add("teacher", rows, self.options.samples)

    async def run(self) -> None:
        self.stage = replace(RESPOND, read=answer_of(self.options.min_words))
        self.params = self.ctx.sampling(self.stage, n=self.options.samples)  # once: every row's call shares it
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
        leftover = self._outcomes(row, messages, self.ctx.read(self.stage, completion, order_key(row.index),
                                                               self._item(row), at=partial(order_key, row.index)))
        assert not leftover, "the fast path runs only without a grading gate or a pairwise stage"
        return True

    async def _one(self, row: InputRow) -> None:
        ctx = self.ctx
        messages = self._rendered.pop(row.index, None) or self._messages(row)
        answers = await ctx.ask(self.stage, order_key(row.index), self._item(row), messages=messages,
                                sampled=self.params, at=partial(order_key, row.index))
        if answers is None:
            return
        jobs = self._outcomes(row, messages, answers)
        if len(jobs) == 1:
            await jobs[0]
        elif jobs:
            await asyncio.gather(*jobs)

    @staticmethod
    def _item(row: InputRow) -> dict[str, Any]:
        return {"index": row.index, "instruction": row.instruction, "input": row.input}

    def _outcomes(self, row: InputRow, messages: list[dict[str, str]], answers: list[Answer[str]]) -> list[Any]:
        """Accept each answer (the other choices were rejected by `read`); return the coroutines that must still
        run (quality gate, pairwise)."""
        ctx = self.ctx
        reference = row.source.get(ctx.config.quality.reference_field) if (
            ctx.config.quality and ctx.config.quality.reference_field) else None
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        jobs: list[Any] = []
        grading = ctx.submits  # a grading gate, or multi-turn extension
        for answer in answers:
            order = order_key(row.index, answer.index)
            meta = {"recipe": self.name, "index": row.index, "sample": answer.index,
                    "teacher": ctx.teacher.spec.short_name(), "stages": [STAGE], "scores": {},
                    **self.reasoning_meta(answer.choice)}
            record = make_record(instruction=row.instruction, input=row.input, output=answer.value, system=system,
                                 meta=meta)
            if grading:
                jobs.append(ctx.submit(order, STAGE, record, reference=reference))
            else:
                ctx.accept(order, STAGE, record)
        if ctx.config.quality and ctx.config.quality.pairwise and len(answers) >= 2:
            jobs.append(ctx.submit_pair(order_key(row.index, 0), STAGE, messages, answers[0].value, answers[1].value,
                                        {"recipe": self.name, "index": row.index}))
        return jobs
