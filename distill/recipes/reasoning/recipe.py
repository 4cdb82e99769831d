"""Reasoning distillation: sample several traces (thinking, then an answer) per question from a teacher, reject
the traces that fail in the known ways, optionally verify the answers, keep all or some of the rest, and record
how hard each question was for the teacher (and keep only the hard ones, when asked).

Input rows: a question (`input.field`), optionally a reference answer (`answer_field`) and a domain
(`domain_field`; `math` asks for a `\\boxed{}` answer). The thinking comes from a reasoning model's own channel
(`reasoning_content`, Anthropic thinking blocks, a leading <think> block); a teacher without one is asked by
`prompts/reasoning/solve.j2` to think inside <think> tags (`ask_to_think`). Each record holds the answer as its
output and the thinking apart, in `reasoning`; `distill export --format think_inline | reasoning_content |
thinking` writes it where reasoning trainers read it.

Rejection reasons, per trace (checks.py): `truncated`, `no_final_answer`, `empty_reasoning`, `too_long`,
`repetition_loop`, `language_mix` (stage `check`); `wrong_answer` (stage `verify`, with `verify:`); a trace
the selection leaves out is `not_selected`, one of a question easier than `min_difficulty` `too_easy` (stage
`select`).

Defaults and where they come from (research notes: landscape_2026-12.md, "Reasoning distillation"):
* `samples: 4`. OpenThoughts (>1,000 ablations) found many answers per question from one teacher the largest
  lever and used 16; we default to 4 for cost. Set `samples: 16` for the paper's value.
* `keep: all` — every trace that passes is a record, as OpenThoughts keeps its 16. `shortest_correct` and `k`
  keep fewer.
* `verify:` off. OpenThoughts found answer verification gave no significant gain for SFT; it stays available
  (the self_improve verifiers: math, exact, regex, function) and then also rejects wrong answers
  (`drop_incorrect`) and fills `share_correct`.
* Difficulty is recorded, and filtered on only when asked: each record's `meta.difficulty` has the share of
  samples verified correct (s1 chose questions small models fail), the mean trace length in estimated tokens
  (OpenThoughts: selecting questions by the teacher's response length beat embedding-based selection), with
  `rate_difficulty: true` a judge's 1-10 rating (OpenThoughts' other strong signal; one more call per question,
  to `judge:` or else the teacher), and a `bucket` (easy / medium / hard) from the first of those known
  (selection.py). `min_difficulty: hard` keeps only the hard questions, s1-style; the others' traces are
  rejected as `too_easy` (stage `select`). Length thresholds (`easy_trace_tokens` 256, `hard_trace_tokens`
  1024) are ours.
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
from distill.quality.judge import json_format, read_verdict
from distill.quality.replies import UnreadableReply, parse_score
from distill.recipes.base import Estimate, Recipe
from distill.recipes.reasoning.checks import Trace, rejection
from distill.recipes.reasoning.options import ReasoningOptions
from distill.recipes.reasoning.selection import Candidate, at_least, difficulty, select
from distill.recipes.self_improve_verify import Verifier
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.reply_guard import reading

SECTION = "reasoning"
BUCKETS = "reasoning_difficulty"  # manifest: per bucket, questions, samples, verified samples, correct ones, kept
RATING_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["rationale", "score"],
                 "properties": {"rationale": {"type": "string"},
                                "score": {"type": "integer", "minimum": 1, "maximum": 10}}}


def shown(trace: Trace) -> str:
    """A trace as a rejection shows it: the thinking in <think> tags, then the answer."""
    return f"<think>\n{trace.thinking}\n</think>\n\n{trace.answer}" if trace.thinking else trace.answer


class Reasoning(Recipe):
    name = "reasoning"
    summary = "reasoning traces: k samples per question, failed traces rejected, thinking kept apart"
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
        max_tokens = self.options.sampling(cfg.generation).get("max_tokens")  # options, then the run, then ours
        estimate = Estimate(candidates=rows * self.options.samples,
                            max_tokens=max_tokens if isinstance(max_tokens, int) else None)
        estimate.add("teacher", rows, self.options.samples)
        return estimate.add("judge", rows) if self.options.rate_difficulty else estimate

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
        rating: float | None = None
        if self.options.rate_difficulty:
            with ctx.guard(order_key(row.index), "rate", item) as call:
                rating = await self._rate(row.instruction)
            if call.stopped:
                return
        reply = await ctx.call(order_key(row.index), "generate", item,
                               ctx.teacher.complete(self._messages(row), self.params))
        if reply is None:
            return
        jobs = self._outcomes(row, item, reply, rating)
        if jobs:
            await asyncio.gather(*jobs)

    async def _rate(self, question: str) -> float | None:
        """The judge's 1-10 difficulty rating of the question; None when its reply gives none readable (the
        question is then bucketed by its other signals)."""
        rater = self.ctx.judge or self.ctx.teacher
        fmt = json_format(rater, RATING_SCHEMA, "difficulty")
        reply = await rater.complete([{"role": "user", "content": render("reasoning/difficulty.j2",
                                                                         question=question)}],
                                     rater.params(temperature=0.0, max_tokens=300, n=1, response_format=fmt))
        with reading(reply.choices[0].text):
            try:  # a rating cut off at max_tokens, or none on the scale, is no rating
                return read_verdict(reply.choices[0], "score", lambda t: parse_score(t, (1, 10)), "difficulty")[0]
            except UnreadableReply:
                self.ctx.tally(SECTION, "unrated")
                return None

    def _outcomes(self, row: InputRow, item: dict[str, Any], reply: Completion, rating: float | None
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
        hardness = difficulty(len(traces), passed, correct_count if verifying else None, [t.tokens for t in traces],
                              rating, opts.buckets())
        level = hardness["bucket"] or "(none)"
        ctx.tally(BUCKETS, f"{level}.questions")
        ctx.tally(BUCKETS, f"{level}.samples", len(traces))
        if verifying:
            ctx.tally(BUCKETS, f"{level}.verified", len(traces))
            ctx.tally(BUCKETS, f"{level}.correct", correct_count)
        hard_enough = at_least(hardness["bucket"], opts.min_difficulty)
        quality_reference = row.source.get(self.reference_field) if self.reference_field else None
        jobs = []
        for c in candidates:
            order = order_key(row.index, c.sample)
            if c.sample not in kept:
                ctx.reject(order, "select", "not_selected", item, raw=shown(traces[c.sample]),
                           detail={"keep": opts.keep})
                continue
            if not hard_enough:
                ctx.reject(order, "select", "too_easy", item, raw=shown(traces[c.sample]),
                           detail={"difficulty": hardness["bucket"], "basis": hardness["basis"],
                                   "min_difficulty": opts.min_difficulty})
                continue
            record = self._record(row, reply.choices[c.sample], traces[c.sample], c, answers.get(c.sample),
                                  reference if verifying else None, hardness)
            jobs.append(ctx.submit(order, "select", record, reference=None if quality_reference is None
                                   else str(quality_reference)))
        ctx.tally(SECTION, "kept", len(jobs))
        ctx.tally(BUCKETS, f"{level}.kept", len(jobs))
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
        return make_record(instruction=row.instruction, output=trace.answer, meta=meta, reasoning=trace.thinking)
