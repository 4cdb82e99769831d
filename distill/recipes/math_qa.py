"""Task-specific QA with verified answers (OpenMathInstruct-style): sample k chain-of-thought solutions per
problem, extract the `\\boxed{}` answer, keep the solutions whose answer is equivalent to the ground truth — or,
without one, to the majority answer when it has enough agreement — then the quality gate.

Defaults follow OpenMathInstruct-1/2: sampling temperature 1.0, top_p 0.95; text after the boxed answer
trimmed; solutions shorter than 200 characters (`min_solution_chars`) or longer than ~1024 tokens
(`max_solution_tokens`) dropped, problems longer than ~1024 tokens dropped (tokens estimated as characters / 4);
majority voting for problems without an answer; five few-shot examples (ours, each 300-390 characters, so a
solution written like them clears the 200-character minimum).
Differences: k defaults to 8 (the papers sample 64-512 per problem; raise `samples` to match), text solutions
only (no code interpreter), and our own few-shot examples. A solution may run to 2048 new tokens (OMI-1 sampled
512), so that the 1024-token limit, not truncation, decides which long solutions go. Optional problem
augmentation writes new problems from each seed and labels them by majority vote; optional n-gram
decontamination drops problems that overlap a benchmark.

With `quality.reference_field`, the quality gate's judges grade against a reference answer: the row's value in
that column, or, where it has none (augmented problems), the answer the solution was verified against.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from distill.io.inputs import InputRow
from distill.prompts import render
from distill.providers.base import GenerationParams
from distill.recipes.base import Estimate, Recipe
from distill.recipes.rewrite_parse import parse_rewrite
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.text.decontam import Decontaminator
from distill.text.math_answers import (
    equivalent,
    final_answers,
    is_math_answer,
    normalize,
    reference_answer,
    trim_after_boxed,
)


class MathOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_field: str = "answer"
    samples: int = Field(8, ge=1, le=512)
    solve: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    min_agreement: float = Field(0.5, gt=0, le=1, description="majority share of extracted answers needed")
    min_votes: int = Field(2, ge=1)
    min_solution_chars: int = Field(200, ge=0, description="OpenMathInstruct-2's minimum solution length")
    max_solution_tokens: int = Field(1024, ge=1, description="longer solutions are dropped (characters / 4); "
                                     "solve.max_tokens must exceed it for the limit to apply")
    max_problem_tokens: int = 1024
    augment: int = Field(0, ge=0, description="new problems written from each seed problem")
    augment_generation: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=256)
    decontaminate: list[str] = Field(default_factory=list, description="benchmark JSONL files of questions")


class MathQA(Recipe):
    name = "math_qa"
    summary = "verifiable math QA: k sampled solutions, boxed answers checked against truth or majority"
    Options: ClassVar[type[BaseModel]] = MathOptions
    options: MathOptions

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        return [[{"role": "user", "content": render("math_qa/solve.j2", problem=r.instruction)}]
                for r in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        problems = rows * (1 + self.options.augment)  # the input's and the augmented ones, each solved n times
        return (Estimate(candidates=problems).add("teacher", rows * self.options.augment)
                .add("teacher", problems, self.options.samples))

    async def run(self) -> None:
        ctx = self.ctx
        self.reference_field = ctx.config.quality.reference_field if ctx.config.quality else None
        paths = [ctx.config.resolve(p) for p in self.options.decontaminate]
        self.decontam = Decontaminator.from_files(paths) if paths else None
        ctx.extra_manifest["math"] = {"problems": 0, "with_a_kept_solution": 0}
        if self.decontam is not None:
            ctx.extra_manifest["decontamination"] = self.decontam.report()  # its counts grow through tally
        benchmarks = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).digest()  # edits rebuild the records
        await ctx.map(ctx.inputs(), self._problem, memo=lambda row: (row.index, benchmarks + row.identity()[1]))

    async def _problem(self, row: InputRow) -> None:
        truth = row.source.get(self.options.answer_field)
        truth = reference_answer(str(truth)) if truth is not None else None  # GSM8K: "... #### 72" -> "72"
        item = {"index": row.index, "problem": row.instruction}
        field = self.reference_field
        reference = row.source.get(field) if field else None
        jobs = [self._solve(lambda j: order_key(row.index, j), row.instruction, truth,
                            {"index": row.index, "source": "seed"}, str(reference) if reference is not None else None)]
        for a in range(self.options.augment):
            jobs.append(self._augmented(row, a, item))
        await asyncio.gather(*jobs)

    async def _augmented(self, row: InputRow, a: int, item: dict[str, Any]) -> None:
        ctx = self.ctx
        order = order_key((row.index, a), 0, stage=1)
        reply = await ctx.call(order, "augment", item, ctx.teacher.complete(
            [{"role": "user", "content": render("math_qa/augment.j2", problem=row.instruction)}],
            ctx.teacher.params(**self.options.augment_generation.model_dump(exclude_none=True)), sample=a))
        if reply is None:
            return
        with ctx.reading(order, "augment", item, reply.choices[0].text) as read:
            problem = parse_rewrite(reply.choices[0].text)
        if read.stopped:
            return
        if not problem or reply.choices[0].finish_reason == "length":
            ctx.reject(order, "augment", "empty_problem" if not problem else "truncated_problem", item,
                       raw=reply.choices[0].text)
            return
        await self._solve(lambda j: order_key((row.index, a), j, stage=1), problem, None,
                          {"index": row.index, "source": "augmented", "augment": a, "seed_problem": row.instruction})

    async def _solve(self, at: Callable[[int], str], problem: str, truth: str | None, origin: dict[str, Any],
                     grading_reference: str | None = None) -> None:
        """Solve one problem; `at(0)` orders the problem's own outcomes, `at(j + 1)` those of sample j."""
        ctx, opts = self.ctx, self.options
        base = at(0)
        item = {**origin, "problem": problem}
        if self.decontam is not None:
            ctx.tally("decontamination", "checked")
            if self.decontam.contaminated(problem):
                ctx.tally("decontamination", "removed")
                ctx.reject(base, "decontaminate", "benchmark_overlap", item)
                return
        if len(problem) / 4 > opts.max_problem_tokens:
            ctx.reject(base, "solve", "problem_too_long", item)
            return
        ctx.tally("math", "problems")
        prompt = [{"role": "user", "content": render("math_qa/solve.j2", problem=problem)}]
        reply = await ctx.call(base, "solve", item, ctx.teacher.complete(
            prompt, ctx.teacher.params(**opts.solve.model_dump(exclude_none=True)).merged(n=opts.samples)))
        if reply is None:
            return
        candidates: list[tuple[int, str, str]] = []  # (sample, solution, answer)
        for j, choice in enumerate(reply.choices):
            reason = None
            with ctx.reading(at(j + 1), "solve", item, choice.text) as read:
                boxed = final_answers(choice.text)  # \\boxed{} answers, else a GSM8K-style `#### 72` line
                if choice.finish_reason == "length":
                    reason = "truncated"
                elif not boxed:
                    reason = "no_boxed_answer"
                elif len({normalize(b) for b in boxed}) > 1:
                    reason = "multiple_boxed_answers"
                elif truth is None and not is_math_answer(boxed[-1]):
                    reason = "not_a_math_answer"  # code, markup and the like never count as votes
            if read.stopped:
                continue
            if reason:
                ctx.reject(at(j + 1), "solve", reason, item, raw=choice.text)
            else:
                candidates.append((j, choice.text, boxed[-1]))
        reference: str | None = truth
        agreement: float | None = None
        if truth is None:  # the vote reads every answer: what it raises rejects the problem
            with ctx.reading(base, "verify", item, reply.choices[0].text) as read:
                reference, agreement = self._majority([c[2] for c in candidates])
            if read.stopped:
                return
        if reference is None:
            for j, text, answer in candidates:
                ctx.reject(at(j + 1), "verify", "no_majority", item, raw=text, detail={"answer": answer})
            return
        kept, jobs = 0, []
        for j, text, answer in candidates:
            order = at(j + 1)
            with ctx.reading(order, "verify", item, text) as read:
                same = equivalent(answer, reference)
                solution = trim_after_boxed(text.strip())
            if read.stopped:
                continue
            if not same:
                ctx.reject(order, "verify", "wrong_answer", item, raw=text,
                           detail={"answer": answer, "expected": reference})
                continue
            if len(solution) < opts.min_solution_chars:
                ctx.reject(order, "verify", "solution_too_short", item, raw=text)
                continue
            if len(solution) / 4 > opts.max_solution_tokens:
                ctx.reject(order, "verify", "solution_too_long", item, raw=text)
                continue
            kept += 1
            meta = {"recipe": self.name, **origin, "sample": j, "answer": answer, "expected": reference,
                    "expected_source": "ground_truth" if truth is not None else "majority",
                    "agreement": agreement, "teacher": ctx.teacher.spec.short_name(),
                    "stages": ["solve", "verify"], "scores": {}, **self.reasoning_meta(reply.choices[j])}
            judged_against = (grading_reference or reference) if self.reference_field else None
            jobs.append(ctx.submit(order, "verify", make_record(instruction=problem, output=solution, meta=meta),
                                   reference=judged_against))
        if kept:
            ctx.tally("math", "with_a_kept_solution")
        await asyncio.gather(*jobs)

    def _majority(self, answers: list[str]) -> tuple[str | None, float | None]:
        clusters: list[list[str]] = []
        for a in answers:
            for c in clusters:
                if equivalent(a, c[0]):
                    c.append(a)
                    break
            else:
                clusters.append([a])
        if not clusters:
            return None, None
        best = max(clusters, key=len)  # first-seen wins ties: deterministic
        share = len(best) / len(answers)
        if len(best) < self.options.min_votes or share < self.options.min_agreement:
            return None, round(share, 3)
        return best[0], round(share, 3)



