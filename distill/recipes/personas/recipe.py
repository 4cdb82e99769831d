"""Persona-driven generation (Persona Hub, Ge et al. 2024, arXiv 2406.20094; Tulu 3's Persona-MATH/GSM/Python/IF
sets, arXiv 2411.15124). Every persona from the input (a JSONL file or a `datasets` dataset such as PersonaHub or
Nemotron-Personas; `input.field` names the persona column) is crossed with task kinds: the teacher writes one
task of each kind for that persona — an instruction, a math word problem, a Python coding task, a knowledge-rich
question — and the task is then answered. Near-duplicate tasks are removed across personas; each record keeps
its persona in `meta.persona` (and `meta.task`), which `turns:` uses to keep the simulated user in character.

Math problems are verified: `math_samples` step-by-step solutions are sampled and their `\\boxed{}` answers
compared with the checker of the math_qa recipe (text/math_answers.py: numbers, fractions, sympy); a problem is
kept only when a majority agrees (at least `min_votes` and `min_agreement` of the readable answers), with one
agreeing solution. Coding answers must contain a fenced code block.

Defaults: the task writer samples at temperature 1.0 (Persona Hub's method relies on the persona, not on seed
examples, for diversity); answers at 0.7 / top_p 0.95, solutions as in math_qa (OpenMathInstruct: 1.0 / 0.95).
Differences from the papers: Persona Hub and Tulu 3 used GPT-4(o) both to write and to answer, and Persona Hub
deduplicated with MinHash and then embeddings; here dedup is word 3-gram MinHash at Jaccard >= 0.8, with no
embedding pass. The papers' problems were answered by GPT-4o in one pass; here every math problem is verified by
a majority of sampled solutions and dropped without one. The four task templates are ours; math solutions use
the math_qa recipe's few-shot template (prompts/math_qa/solve.j2).

A written task is checked before it is answered (`task_problem`): an accept-time artefact (text/artefacts.py: a
label alone such as "Question:", an echo of the prompt, an unclosed code fence), a coding task that is code
although the prompt says not to write it ("code_in_task": a fenced block with code in it, or two lines of code),
and closing sentences that restate the prompt's directions ("restates_directions", text/directions.py).
"""

from __future__ import annotations

import asyncio
import re
from itertools import islice
from typing import Any, ClassVar, get_args

from pydantic import BaseModel

from distill.engine.in_order import InOrder
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.recipes.base import Estimate, Recipe
from distill.recipes.personas.options import Kind, PersonasOptions
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Rejected, Stage
from distill.text.artefacts import text_artefact, unclosed_fence
from distill.text.dedup import Deduplicator
from distill.text.directions import directions_tail
from distill.text.math_answers import equivalent, extract_boxed, normalize, trim_after_boxed

COUNTS = "personas_counts"  # tasks written toward the target (`ctx.tally`: a replayed persona counts again)
_LABEL = re.compile(r"^\s*(?:\*+\s*)?(?:math problem|word problem|problem|task|question|request|instruction|"
                    r"[qa]\d{0,3})\s*(?:\*+\s*)?:\s*(?:\*+\s*)?", re.I)  # linear: no two `\s*` meet (issue 29)
_LEAK = re.compile(r"\n[ \t]*\**(?:solution|answer|step 1)\**[ \t]*:", re.I)  # [ \t]: linear on runs of newlines
_CODE_LINE = re.compile(r"^[ \t]*(?:def [A-Za-z_]\w*\(|class [A-Za-z_]\w*[(:]|import \w|from [\w.]+ import |"
                        r"return\b|print\(|for \w+ in .{1,200}:[ \t]*$|while .{1,200}:[ \t]*$)", re.MULTILINE)
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})", re.MULTILINE)


def written_task(text: str) -> str:
    """The reader of a written task: `clean_task`, and at least four words of it."""
    task = clean_task(text)
    if len(task.split()) < 4:
        raise Rejected("too_short")
    return task


def answer_text(text: str) -> str:
    if not text:
        raise Rejected("empty")
    return text


def code_answer(text: str) -> str:
    """The reader of a coding task's answer when `require_code_block`: it holds a closed fenced block."""
    if "```" not in answer_text(text) or unclosed_fence(text):
        raise Rejected("no_code_block")
    return text


def whole_text(text: str) -> str:
    return text


WRITE = {kind: Stage("write", f"personas/{kind}.j2", read=written_task) for kind in get_args(Kind)}
ANSWER = Stage("answer", role="answerer", read=answer_text)  # the prompt is the task alone
CODE_ANSWER = Stage("answer", role="answerer", read=code_answer)
# every sample comes back as it is (none rejected alone): the vote reads them together
SOLVE = Stage("verify", "math_qa/solve.j2", role="answerer", read=whole_text, truncated=None)


def clean_task(text: str) -> str:
    """The task as written, without a "Problem:" style label (or a bare `Q:` / `A:` one), wrapping quotes or a
    trailing solution. What it cannot repair (an echo of the prompt, a label alone, an unclosed fence) the
    accept-time artefact check rejects (text/artefacts.py)."""
    text = _LABEL.sub("", text.strip()).strip()
    leak = _LEAK.search(text)
    if leak:
        text = text[: leak.start()].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def task_problem(task: str, kind: str) -> str | None:
    """Why a written task of `kind` cannot be answered as it is (see the module docstring), or None."""
    problem = text_artefact(task)
    if problem is not None:
        return problem
    if kind == "code" and (len(_CODE_LINE.findall(task)) >= 2 or (_FENCE_LINE.search(task) is not None
                                                                   and _CODE_LINE.search(task) is not None)):
        return "code_in_task"
    if directions_tail(task, render(f"personas/{kind}.j2", persona="")):
        return "restates_directions"
    return None


class Personas(Recipe):
    name = "personas"
    summary = "persona-driven tasks (Persona Hub / Tulu 3): instructions, verified math, code, knowledge"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = PersonasOptions
    options: PersonasOptions

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        return [WRITE[kind].messages(persona=row.instruction)
                for row in islice(rows, limit) for kind in self.options.tasks][:limit]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        out = Estimate(candidates=rows * len(self.options.tasks)).add("teacher", rows * len(self.options.tasks))
        for kind in self.options.tasks:
            out.add("answer", rows, self.options.math_samples if kind == "math" else 1)
        return out

    async def run(self) -> None:
        self.dedup = Deduplicator(threshold=self.options.near_duplicate_threshold)
        self.turns = InOrder()
        await self.ctx.map(self.ctx.inputs(), self._persona)
        self.ctx.extra_manifest["dedup"] = self.dedup.stats
        counts = self.ctx.extra_manifest.pop(COUNTS, {})
        wanted = int(counts.get("personas", 0)) * len(self.options.tasks)
        self.ctx.target("tasks", int(counts.get("written", 0)), wanted, "a rejected task is not written again")

    def _item(self, row: InputRow, kind: str, task: str | None = None) -> dict[str, Any]:
        item = {"index": row.index, "persona": row.instruction, "task": kind}
        return {**item, "text": task} if task is not None else item

    async def _persona(self, row: InputRow) -> None:
        kinds = self.options.tasks
        self.ctx.tally(COUNTS, "personas")
        drafts = await asyncio.gather(*(self._write(row, k, kind) for k, kind in enumerate(kinds)))
        kept = []
        async with self.turns.turn(row.index):  # the dedup index sees personas in input order
            for k, (kind, task) in enumerate(zip(kinds, drafts, strict=True)):
                if task is None:
                    continue
                dup = self.dedup.seen(task)
                if dup:
                    self.ctx.reject(order_key(row.index, k), "dedup", f"{dup}_duplicate",
                                    self._item(row, kind, task))
                else:
                    kept.append((k, kind, task))
        await asyncio.gather(*(self._answer(row, k, kind, task) for k, kind, task in kept))

    async def _write(self, row: InputRow, k: int, kind: str) -> str | None:
        ctx = self.ctx
        order = order_key(row.index, k)
        written = await ctx.ask(WRITE[kind], order, self._item(row, kind), variables={"persona": row.instruction},
                                params=self.options.write, n=1)
        if not written:  # failed, or rejected: cut off, too short, unreadable
            return None
        task = written[0].value
        problem = task_problem(task, kind)
        if problem is not None:
            ctx.reject(order, "write", problem, self._item(row, kind, task), raw=written[0].choice.text)
            return None
        ctx.tally(COUNTS, "written")
        return task

    async def _answer(self, row: InputRow, k: int, kind: str, task: str) -> None:
        ctx, opts = self.ctx, self.options
        order = order_key(row.index, k)
        item = self._item(row, kind, task)
        meta: dict[str, Any] = {"recipe": self.name, "index": row.index, "persona": row.instruction, "task": kind,
                                "teacher": ctx.teacher.spec.short_name(), "stages": ["write", "answer"],
                                "scores": {}}
        if "id" in row.source:
            meta["persona_id"] = row.source["id"]
        if kind == "math":
            return await self._solve(order, task, item, meta)
        stage = CODE_ANSWER if kind == "code" and opts.require_code_block else ANSWER
        answers = await ctx.ask(stage, order, item, messages=[{"role": "user", "content": task}],
                                params=opts.answer, n=1)
        if not answers:  # failed, or rejected: cut off, empty, no code block
            return None
        await ctx.submit(order, "answer", make_record(instruction=task, output=answers[0].text,
                                                      meta={**meta, **self.reasoning_meta(answers[0].choice)}))

    async def _solve(self, order: str, problem: str, item: dict[str, Any], meta: dict[str, Any]) -> None:
        ctx, opts = self.ctx, self.options
        samples = await ctx.ask(SOLVE, order, item, variables={"problem": problem}, params=opts.solve,
                                n=opts.math_samples)
        if samples is None:
            return
        raw = samples[0].choice.text
        readable = []  # (solution, answer) of the untruncated samples with one boxed answer
        clusters: list[list[tuple[str, str]]] = []
        with ctx.reading(order, "verify", item, raw) as read:  # one task: what raises rejects it
            for sample in samples:
                boxed = extract_boxed(sample.choice.text)
                if not sample.cut and boxed and len({normalize(b) for b in boxed}) == 1:
                    readable.append((sample.choice.text, boxed[-1]))
            for sol in readable:
                home = next((c for c in clusters if equivalent(sol[1], c[0][1])), None)
                home.append(sol) if home is not None else clusters.append([sol])
            best = max(clusters, key=len) if clusters else []  # the first-seen cluster wins ties
            solution = trim_after_boxed(best[0][0].strip()) if best else ""
        if read.stopped:
            return
        share = round(len(best) / len(readable), 3) if readable else 0.0
        votes = {"samples": len(samples), "readable": len(readable), "agreeing": len(best),
                 "agreement": share}
        if len(best) < opts.min_votes or share < opts.min_agreement:
            ctx.reject(order, "verify", "no_majority" if readable else "no_boxed_answer", item, raw=raw,
                       detail=votes)
            return
        meta.update({"answer": best[0][1], "votes": votes, "stages": ["write", "solve", "verify"]})
        await ctx.submit(order, "verify", make_record(instruction=problem, output=solution, meta=meta))
