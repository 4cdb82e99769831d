"""Evol-Instruct (WizardLM, Xu et al. 2023): evolve instructions over rounds, eliminate failed evolutions,
answer the survivors in separate calls, then the quality gate.

Each root instruction is a chain: in round k its current instruction gets one operation chosen uniformly from
the operation set (in-depth: add constraints, deepen, concretize, increase reasoning, complicate input; or
in-breadth). The evolution is eliminated when it copies the evolving prompt's words, when an LLM comparison finds
it equal to its parent, or when its answer is a short "sorry" refusal or only stop words; an eliminated item goes
back unchanged and is evolved again next round, as in the paper. A surviving evolution becomes the next round's
instruction, so difficulty escalates; every survivor (all rounds, like WizardLM's mixed generations) is a
record. Chains run independently in the sliding window, which gives the same result as the paper's epochs
without waiting on the slowest item of a round.

Defaults follow the paper and its released code: 4 rounds, teacher temperature 1.0, top_p 0.95, max 2048
tokens for evolution and answers; answers are separate calls whose prompt is the instruction alone (optionally
from `answer_teacher:`). Additions, not in the paper: a complexity judge rates every instruction 1-10 so the
manifest can show escalation per round; "complicate input" is included (the paper has it; the released code
does not); the frames are our own wording.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from distill.engine.teacher import CallFailed
from distill.io.inputs import InputRow
from distill.prompts import render
from distill.providers.base import GenerationParams
from distill.quality.judge import json_format
from distill.quality.replies import Unparseable, parse_score
from distill.recipes.base import Recipe
from distill.recipes.evol_elimination import answer_rejection, copied_prompt_words, parse_equality
from distill.recipes.evol_operations import Operation, choose, operations
from distill.run.folder import order_key
from distill.run.records import make_record


DIFFICULTY_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["rationale", "score"],
                     "properties": {"rationale": {"type": "string"},
                                    "score": {"type": "integer", "minimum": 1, "maximum": 10}}}
EQUALITY_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["verdict"],
                   "properties": {"verdict": {"type": "string", "enum": ["Equal", "Not Equal"]}}}


class EvolOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(4, ge=1, le=20)
    operation_set: str = "general"
    operations: list[str] | None = None
    evolve: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    answer: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    equality_check: bool = True
    difficulty: bool = True
    keep_roots: bool = False


COUNTS = "evol_counts"  # per-round tallies (`ctx.tally`, so a replayed root counts again), folded into rows


def round_rows(counts: dict[str, float], rounds: int) -> list[dict[str, Any]]:
    """The manifest's per-round table from the tallies `r<round>.<what>`."""
    rows = []
    for rnd in range(rounds + 1):
        prefix = f"r{rnd}."
        mine = {k[len(prefix):]: v for k, v in counts.items() if k.startswith(prefix)}
        eliminated = {k[len("eliminated."):]: int(v) for k, v in mine.items() if k.startswith("eliminated.")}
        rated = int(mine.get("rated", 0))
        rows.append({"round": rnd, "attempts": int(mine.get("attempts", 0)), "survived": int(mine.get("survived", 0)),
                     "eliminated": dict(sorted(eliminated.items())),
                     "mean_difficulty": round(mine.get("difficulty", 0) / rated, 3) if rated else None,
                     "rated": rated})
    return rows


class EvolInstruct(Recipe):
    name = "evol_instruct"
    summary = "Evol-Instruct: evolve instructions over rounds with elimination, answer separately"
    Options: ClassVar[type[BaseModel]] = EvolOptions
    options: EvolOptions

    @staticmethod
    def _root_text(row: InputRow) -> str:
        return row.instruction if not row.input else f"{row.instruction}\n{row.input}"

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        ops = operations(self.options.operation_set, self.options.operations)
        return [[{"role": "user", "content": choose(ops, cfg.seed, r.index, 1).prompt(self._root_text(r))}]
                for r in islice(rows, limit)]

    def estimate_calls(self, rows: int) -> int:
        per_round = 2 + self.options.equality_check + self.options.difficulty
        return rows * (self.options.rounds * per_round + self.options.difficulty)

    async def run(self) -> None:
        self.ops = operations(self.options.operation_set, self.options.operations)
        self.ctx.extra_manifest[COUNTS] = {}
        await self.ctx.map(self.ctx.inputs(), self._chain, memo=InputRow.identity)
        self.ctx.extra_manifest["evol_rounds"] = round_rows(self.ctx.extra_manifest.pop(COUNTS), self.options.rounds)

    def _rated(self, rnd: int, difficulty: float | None) -> None:
        if difficulty is not None:
            self.ctx.tally(COUNTS, f"r{rnd}.rated")
            self.ctx.tally(COUNTS, f"r{rnd}.difficulty", difficulty)

    def _eliminate(self, rnd: int, root: int, reason: str, item: dict[str, Any], raw: str | None = None) -> None:
        self.ctx.tally(COUNTS, f"r{rnd}.eliminated.{reason}")
        self.ctx.reject(order_key(root, rnd), f"round_{rnd}", reason, item, raw=raw)

    async def _difficulty(self, instruction: str) -> float | None:
        if not self.options.difficulty:
            return None
        rater = self.ctx.judge or self.ctx.teacher
        prompt = render("evol_instruct/difficulty.j2", instruction=instruction)
        fmt = json_format(rater, DIFFICULTY_SCHEMA, "difficulty")
        reply = await rater.complete([{"role": "user", "content": prompt}],
                                     rater.params(temperature=0.0, max_tokens=160, n=1, response_format=fmt))
        try:
            return parse_score(reply.choices[0].text, (1, 10))[0]
        except Unparseable:
            return None  # counted as unrated; the difficulty is informative, not a filter

    async def _chain(self, row: InputRow) -> None:
        ctx, opts = self.ctx, self.options
        root_text = self._root_text(row)
        try:
            root_difficulty = await self._difficulty(root_text)
        except CallFailed as exc:
            ctx.fail(order_key(row.index, 0), "difficulty", {"index": row.index, "instruction": root_text}, exc)
            return
        self._rated(0, root_difficulty)
        lineage: list[dict[str, Any]] = [{"round": 0, "id": f"e{row.index}-0", "operation": None,
                                          "difficulty": root_difficulty}]
        current, parent_id = root_text, lineage[0]["id"]
        for rnd in range(1, opts.rounds + 1):
            op = choose(self.ops, ctx.seed, row.index, rnd)
            item = {"root_index": row.index, "round": rnd, "operation": op.name, "parent_id": parent_id,
                    "parent": current}
            try:
                step = await self._evolve(rnd, row.index, current, op, item)
            except CallFailed as exc:
                ctx.fail(order_key(row.index, rnd), f"round_{rnd}", item, exc)
                return
            if step is None:
                continue  # eliminated: the same instruction is evolved again next round
            evolved, answer, difficulty = step
            node = {"round": rnd, "id": f"e{row.index}-{rnd}", "operation": op.name, "difficulty": difficulty}
            lineage.append(node)
            meta = {"recipe": self.name, "root_index": row.index, "root": root_text, "id": node["id"],
                    "parent_id": parent_id, "round": rnd, "operation": op.name, "difficulty": difficulty,
                    "lineage": list(lineage), "teacher": ctx.teacher.spec.short_name(),
                    "answer_teacher": ctx.answerer.spec.short_name(), "stages": ["evolve", "answer"], "scores": {}}
            record = make_record(instruction=evolved, output=answer, meta=meta)
            await ctx.submit(order_key(row.index, rnd), f"round_{rnd}", record)
            current, parent_id = evolved, node["id"]

    async def _evolve(self, rnd: int, root: int, current: str, op: Operation, item: dict[str, Any]
                      ) -> tuple[str, str, float | None] | None:
        ctx, opts = self.ctx, self.options
        ctx.tally(COUNTS, f"r{rnd}.attempts")
        # a new seed and sample index per round: an instruction evolved again after an elimination must not
        # get the cached (failed) evolution back
        params = ctx.teacher.params(**opts.evolve.model_dump(exclude_none=True)).merged(seed=ctx.seed * 7919 + rnd)
        reply = await ctx.teacher.complete([{"role": "user", "content": op.prompt(current)}], params, sample=rnd)
        choice = reply.choices[0]
        evolved = choice.text.strip()
        if choice.finish_reason == "length" or not evolved:
            self._eliminate(rnd, root, "truncated_evolution" if evolved else "empty_evolution", item, choice.text)
            return None
        item = {**item, "evolved": evolved}
        reason = copied_prompt_words(evolved)
        if reason:
            self._eliminate(rnd, root, reason, item, choice.text)
            return None
        if opts.equality_check:
            checker = ctx.judge or ctx.teacher
            prompt = render("evol_instruct/equal.j2", first=current, second=evolved)
            fmt = json_format(checker, EQUALITY_SCHEMA, "equality")
            verdict = await checker.complete([{"role": "user", "content": prompt}],
                                             checker.params(temperature=0.0, max_tokens=24, n=1, response_format=fmt))
            equal = parse_equality(verdict.choices[0].text)
            if equal is None:
                self._eliminate(rnd, root, "equality_unparseable", item, verdict.choices[0].text)
                return None
            if equal:
                self._eliminate(rnd, root, "equal_to_parent", item, verdict.choices[0].text)
                return None
        answerer = ctx.answerer
        answer_reply = await answerer.complete([{"role": "user", "content": evolved}],
                                               answerer.params(**opts.answer.model_dump(exclude_none=True)))
        answer_choice = answer_reply.choices[0]
        answer = answer_choice.text.strip()
        reason = answer_rejection(answer) or ("truncated_answer" if answer_choice.finish_reason == "length" else None)
        if reason:
            self._eliminate(rnd, root, reason, item, answer_choice.text)
            return None
        difficulty = await self._difficulty(evolved)
        ctx.tally(COUNTS, f"r{rnd}.survived")
        self._rated(rnd, difficulty)
        return evolved, answer, difficulty
