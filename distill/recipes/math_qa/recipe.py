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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.io.inputs import InputRow
from distill.recipes.base import Estimate, Recipe
from distill.recipes.math_qa.options import MathOptions
from distill.recipes.math_qa.parse import new_problem, solution_answer, voted_answer
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Answer, Stage
from distill.text.decontam import Decontaminator
from distill.text.math_answers import (
    clusters,
    equivalent,
    reference_answer,
    trim_after_boxed,
)

AUGMENT = Stage("augment", "math_qa/augment.j2", read=new_problem, empty="empty_problem",
                truncated="truncated_problem")
SOLVE = Stage("solve", "math_qa/solve.j2", read=solution_answer)  # against a ground truth
SOLVE_FOR_VOTES = Stage("solve", "math_qa/solve.j2", read=voted_answer)  # the majority decides: answers only
Solutions = list[Answer[str]]  # each kept sample: its text, and its boxed answer as value


@dataclass(frozen=True)
class Problem:
    """One problem to solve: `at(0)` orders its own outcomes, `at(j + 1)` those of sample j; `origin` goes into
    its item and records' meta; `truth`: the ground-truth answer (None: the majority decides);
    `grading_reference`: what the quality gate's judges grade against, when not the verified answer."""

    at: Callable[[int], str]
    text: str
    origin: dict[str, Any]
    truth: str | None = None
    grading_reference: str | None = None

    @cached_property
    def item(self) -> dict[str, Any]:  # one dict, shared by all the problem's outcomes
        return {**self.origin, "problem": self.text}


class MathQA(Recipe):
    name = "math_qa"
    summary = "verifiable math QA: k sampled solutions, boxed answers checked against truth or majority"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = MathOptions
    options: MathOptions

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        return [SOLVE.messages(problem=r.instruction) for r in islice(rows, limit)]

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
        item = {"index": row.index, "problem": row.instruction}
        seed = Problem(partial(order_key, row.index), row.instruction, {"index": row.index, "source": "seed"},
                       reference_answer(str(truth)) if truth is not None else None,  # GSM8K: "... #### 72" -> "72"
                       self._grading_reference(row))
        await asyncio.gather(self._solve(seed), *(self._augmented(row, a, item) for a in range(self.options.augment)))

    def _grading_reference(self, row: InputRow) -> str | None:
        """The row's `quality.reference_field` value, for the quality gate's judges (None: they grade without)."""
        reference = row.source.get(self.reference_field) if self.reference_field else None
        return str(reference) if reference is not None else None

    async def _augmented(self, row: InputRow, a: int, item: dict[str, Any]) -> None:
        order = order_key((row.index, a), 0, stage=1)
        answers = await self.ctx.ask(AUGMENT, order, item, variables={"problem": row.instruction},
                                     params=self.options.augment_generation, sample=a)
        if not answers:
            return
        origin = {"index": row.index, "source": "augmented", "augment": a, "seed_problem": row.instruction}
        await self._solve(Problem(lambda j: order_key((row.index, a), j, stage=1), answers[0].value, origin))

    async def _solve(self, problem: Problem) -> None:
        """Solve one problem: admit it, sample its solutions, find the answer they must match, keep the ones that
        do."""
        if not self._admitted(problem):
            return
        self.ctx.tally("math", "problems")
        solutions = await self._sampled(problem)
        if solutions is None:
            return
        reference, agreement = self._reference(problem, solutions)
        if reference is not None:
            await self._keep(problem, solutions, reference, agreement)

    def _admitted(self, problem: Problem) -> bool:
        """Whether the problem is solved at all: not in a benchmark, not too long."""
        ctx, base, item = self.ctx, problem.at(0), problem.item
        if self.decontam is not None:
            ctx.tally("decontamination", "checked")
            if self.decontam.contaminated(problem.text):
                ctx.tally("decontamination", "removed")
                ctx.reject(base, "decontaminate", "benchmark_overlap", item)
                return False
        if len(problem.text) / 4 > self.options.max_problem_tokens:
            ctx.reject(base, "solve", "problem_too_long", item)
            return False
        return True

    async def _sampled(self, problem: Problem) -> Solutions | None:
        """The `samples` solutions whose boxed answer was read (the others rejected); None: the call failed."""
        at = problem.at
        return await self.ctx.ask(SOLVE if problem.truth is not None else SOLVE_FOR_VOTES, at(0), problem.item,
                                  variables={"problem": problem.text}, params=self.options.solve,
                                  n=self.options.samples, at=lambda j: at(j + 1))

    def _reference(self, problem: Problem, solutions: Solutions) -> tuple[str | None, float | None]:
        """The answer the solutions must match: the ground truth, else the majority's answer (the vote reads
        every answer: what it raises rejects the problem); without one, every solution is rejected."""
        if problem.truth is not None:
            return problem.truth, None
        reference: str | None = None
        agreement: float | None = None
        with self.ctx.reading(problem.at(0), "verify", problem.item,
                              solutions[0].choice.text if solutions else "") as read:
            reference, agreement = self._majority([s.value for s in solutions])
        if read.stopped:
            return None, None
        if reference is None:
            for s in solutions:
                self.ctx.reject(problem.at(s.index + 1), "verify", "no_majority", problem.item, raw=s.choice.text,
                                detail={"answer": s.value})
        return reference, agreement

    async def _keep(self, problem: Problem, solutions: Solutions, reference: str, agreement: float | None) -> None:
        """Each solution that matches `reference` through the quality gate; the problem counts as having a kept
        solution when one got that far."""
        jobs = [self._verified(problem, s, reference, agreement) for s in solutions]
        kept = [job for job in jobs if job is not None]
        if kept:
            self.ctx.tally("math", "with_a_kept_solution")
        await asyncio.gather(*kept)

    def _verified(self, problem: Problem, solution: Answer[str], reference: str, agreement: float | None
                  ) -> Awaitable[None] | None:
        """The record of a solution whose answer matches `reference` and whose length is in bounds, on its way
        through the quality gate; else None, the solution rejected."""
        ctx, order, text, answer = self.ctx, problem.at(solution.index + 1), solution.choice.text, solution.value
        with ctx.reading(order, "verify", problem.item, text) as read:
            same = equivalent(answer, reference)
            trimmed = trim_after_boxed(text.strip())
        if read.stopped:
            return None
        reason = self._rejection(same, trimmed)
        if reason:
            detail = {"answer": answer, "expected": reference} if reason == "wrong_answer" else None
            ctx.reject(order, "verify", reason, problem.item, raw=text, detail=detail)
            return None
        record = make_record(instruction=problem.text, output=trimmed,
                             meta=self._meta(problem, solution, reference, agreement))
        judged_against = (problem.grading_reference or reference) if self.reference_field else None
        return ctx.submit(order, "verify", record, reference=judged_against)

    def _rejection(self, same: bool, trimmed: str) -> str | None:
        """Why a solution (trimmed after its boxed answer) is not kept: a wrong answer or its length; None: kept."""
        if not same:
            return "wrong_answer"
        if len(trimmed) < self.options.min_solution_chars:
            return "solution_too_short"
        if len(trimmed) / 4 > self.options.max_solution_tokens:
            return "solution_too_long"
        return None

    def _meta(self, problem: Problem, solution: Answer[str], reference: str, agreement: float | None
              ) -> dict[str, Any]:
        return {"recipe": self.name, **problem.origin, "sample": solution.index, "answer": solution.value,
                "expected": reference, "expected_source": "ground_truth" if problem.truth is not None else "majority",
                "agreement": agreement, "teacher": self.ctx.teacher.spec.short_name(),
                "stages": ["solve", "verify"], "scores": {}, **self.reasoning_meta(solution.choice)}

    def _majority(self, answers: list[str]) -> tuple[str | None, float | None]:
        groups = clusters(answers)
        if not groups:
            return None, None
        best = max(groups, key=len)  # first-seen wins ties: deterministic
        share = len(best) / len(answers)
        if len(best) < self.options.min_votes or share < self.options.min_agreement:
            return None, round(share, 3)
        return best[0], round(share, 3)
