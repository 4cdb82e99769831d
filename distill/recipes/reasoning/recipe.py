"""Reasoning distillation: sample several traces (thinking, then an answer) per question from a teacher, reject
the traces that fail in the known ways, optionally verify the answers, keep all or some of the rest, and record
how hard each question was for the teacher.

Input rows: a question (`input.field`), optionally a reference answer (`answer_field`) and a domain
(`domain_field`; `math` asks for a `\\boxed{}` answer). The thinking comes from a reasoning model's own channel
(`reasoning_content`, Anthropic thinking blocks, a leading <think> block); a teacher without one is asked by
`prompts/reasoning/solve.j2` to think inside <think> tags (`ask_to_think`). Each record holds the answer as its
output and the thinking apart, in `reasoning`; `distill export --format think_inline | reasoning_content |
thinking` writes it where reasoning trainers read it.

Rejection reasons, per trace (checks.py): `truncated`, `no_final_answer`, `empty_reasoning`, `too_long`,
`repetition_loop`, `language_mix` (stage `check`); `wrong_answer` (stage `verify`, with `verify:`); a trace
the selection leaves out is `not_selected` (stage `select`).

Defaults and where they come from (research notes: landscape_2026-12.md, "Reasoning distillation"):
* `samples: 4`. OpenThoughts (>1,000 ablations) found many answers per question from one teacher the largest
  lever and used 16; we default to 4 for cost. Set `samples: 16` for the paper's value.
* `keep: all` — every trace that passes is a record, as OpenThoughts keeps its 16. `shortest_correct` and `k`
  keep fewer.
* `verify:` off. OpenThoughts found answer verification gave no significant gain for SFT; it stays available
  (the self_improve verifiers: math, exact, regex, function) and then also rejects wrong answers
  (`drop_incorrect`) and fills `share_correct`.
* Difficulty is recorded, not filtered on: each record's `meta.difficulty` has the share of samples verified
  correct (s1 chose questions small models fail) and the mean trace length in estimated tokens (OpenThoughts:
  selecting questions by the teacher's response length beat embedding-based selection). Filter on them after
  the run.
* Sampling temperature 0.6, top_p 0.95 (DeepSeek-R1's model card); up to 8192 new tokens (ours) — where
  neither `options.generation` nor the run's `generation:` sets them.
* Check thresholds are ours (the notes give none): a 16-token run seen 5 times is a loop; more than 5% of words
  in a writing system the question does not use is language mixing; fewer than 3 words of thinking is empty;
  no length budget (`max_trace_tokens`) unless set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.io.inputs import InputRow
from distill.prompts import render
from distill.providers.base import Choice, Completion
from distill.recipes.base import Estimate, Recipe
from distill.recipes.reasoning.checks import Trace, rejection
from distill.recipes.reasoning.options import ReasoningOptions
from distill.recipes.reasoning.selection import Candidate, difficulty, select
from distill.recipes.self_improve_verify import Verifier
from distill.run.folder import order_key
from distill.run.records import make_record

SECTION = "reasoning"


def shown(trace: Trace) -> str:
    """A trace as a rejection shows it: the thinking in <think> tags, then the answer."""
    return f"<think>\n{trace.thinking}\n</think>\n\n{trace.answer}" if trace.thinking else trace.answer


class Reasoning(Recipe):
    name = "reasoning"
    summary = "reasoning traces: k samples per question, failed traces rejected, thinking kept apart"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = ReasoningOptions
    options: ReasoningOptions

    def _messages(self, row: InputRow) -> list[dict[str, str]]:
        domain = row.source.get(self.options.domain_field)
        boxed = isinstance(domain, str) and domain.strip().lower() == "math"
        return [{"role": "user", "content": render("reasoning/solve.j2", question=row.instruction,
                                                   think=self.options.ask_to_think, boxed=boxed)}]

    def preview(self, cfg: Any, rows: Iterator[InputRow], limit: int) -> list[list[dict[str, str]]]:
        return [self._messages(row) for row in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        return Estimate(candidates=rows * self.options.samples).add("teacher", rows, self.options.samples)

    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        self.params = ctx.teacher.params(**opts.sampling(ctx.config.generation))
        self.limits = opts.limits()
        self.verifier = Verifier(opts.verify, ctx.config._base) if opts.verify else None
        quality = ctx.config.quality
        self.reference_field = quality.reference_field if quality else None
        counts = ctx.extra_manifest[SECTION] = {"questions": 0, "traces": 0, "passed_checks": 0, "kept": 0,
                                                "with_a_kept_trace": 0}
        await ctx.map(ctx.inputs(), self._question, memo=InputRow.identity)
        ctx.target("questions with a kept trace", int(counts["with_a_kept_trace"]), int(counts["questions"]))

    async def _question(self, row: InputRow) -> None:
        ctx = self.ctx
        item = {"index": row.index, "question": row.instruction}
        ctx.tally(SECTION, "questions")
        domain = row.source.get(self.options.domain_field)
        ctx.tally("reasoning_domains", str(domain) if domain is not None else "(none)")
        reply = await ctx.call(order_key(row.index), "generate", item,
                               ctx.teacher.complete(self._messages(row), self.params))
        if reply is None:
            return
        jobs = self._outcomes(row, item, reply)
        if jobs:
            await asyncio.gather(*jobs)

    def _outcomes(self, row: InputRow, item: dict[str, Any], reply: Completion
                  ) -> list[Coroutine[Any, Any, None]]:
        """Check, verify and select the question's traces; return the submissions of the kept ones."""
        ctx, opts = self.ctx, self.options
        reference = row.source.get(opts.answer_field)
        reference = str(reference) if reference is not None else None
        verifier = self.verifier
        verifying = verifier is not None and (reference is not None or not verifier.needs_reference)
        traces = [Trace(thinking=(c.reasoning or "").strip(), answer=c.text.strip(), finish_reason=c.finish_reason)
                  for c in reply.choices]
        ctx.tally(SECTION, "traces", len(traces))
        candidates: list[Candidate] = []
        answers: dict[int, str | None] = {}
        passed = correct_count = 0
        for j, trace in enumerate(traces):
            order = order_key(row.index, j)
            correct: bool | None = None
            with ctx.reading(order, "check", item, shown(trace)) as read:
                failed = rejection(trace, row.instruction, self.limits)
                if failed is None and verifying:
                    assert verifier is not None
                    answers[j] = verifier.answer(trace.answer)
                    correct = verifier.check(trace.answer, reference, row.source)
            if read.stopped:
                continue
            if failed is not None:
                ctx.reject(order, "check", failed[0], item, raw=shown(trace),
                           detail={"why": failed[1]} if failed[1] else None)
                continue
            passed += 1
            correct_count += bool(correct)
            if correct is False and opts.drop_incorrect:
                ctx.reject(order, "verify", "wrong_answer", item, raw=shown(trace),
                           detail={"answer": answers[j], "expected": reference})
                continue
            candidates.append(Candidate(j, trace.tokens, correct))
        ctx.tally(SECTION, "passed_checks", passed)
        kept = set(select(candidates, opts.keep, opts.keep_k))
        hardness = difficulty(len(traces), passed, correct_count if verifying else None, [t.tokens for t in traces])
        quality_reference = row.source.get(self.reference_field) if self.reference_field else None
        jobs = []
        for c in candidates:
            order = order_key(row.index, c.sample)
            if c.sample not in kept:
                ctx.reject(order, "select", "not_selected", item, raw=shown(traces[c.sample]),
                           detail={"keep": opts.keep})
                continue
            record = self._record(row, reply.choices[c.sample], traces[c.sample], c, answers.get(c.sample),
                                  reference if verifying else None, hardness)
            jobs.append(ctx.submit(order, "select", record, reference=None if quality_reference is None
                                   else str(quality_reference)))
        ctx.tally(SECTION, "kept", len(jobs))
        if jobs:
            ctx.tally(SECTION, "with_a_kept_trace")
        return jobs

    def _record(self, row: InputRow, choice: Choice, trace: Trace, c: Candidate, answer: str | None,
                expected: str | None, hardness: dict[str, Any]) -> dict[str, Any]:
        domain = row.source.get(self.options.domain_field)
        stages = ["generate", "check"] + (["verify"] if c.correct is not None else []) + ["select"]
        meta: dict[str, Any] = {
            "recipe": self.name, "index": row.index, "sample": c.sample, "teacher": self.ctx.teacher.spec.short_name(),
            "domain": domain, "trace_tokens": c.tokens, "finish_reason": choice.finish_reason, "correct": c.correct,
            **({"answer": answer, "expected": expected} if c.correct is not None else {}),
            "difficulty": hardness, "keep": self.options.keep, "stages": stages, "scores": {}}
        record = make_record(instruction=row.instruction, output=trace.answer, meta=meta)
        record["reasoning"] = trace.thinking
        return record
